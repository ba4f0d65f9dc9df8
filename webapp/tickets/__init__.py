"""The patient's public ticket page and the printable ticket."""
