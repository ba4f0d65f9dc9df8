"""The waiting-room display: a public, self-refreshing screen per department."""
