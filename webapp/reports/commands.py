"""``flask aggregate-metrics``: rebuild the stored daily figures for a range of days."""

from __future__ import annotations

from datetime import date

import click

from webapp import clock
from webapp.extensions import db
from webapp.reports.services import store_day_metrics

# A year at a time at most: each run reads the range's tickets in four aggregate queries.
MAX_DAYS = 366


def _day(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("give a date as YYYY-MM-DD") from None
    if not clock.in_day_range(day):
        raise click.BadParameter(clock.DAY_RANGE_MESSAGE)
    return day


@click.command("aggregate-metrics")
@click.option("--from", "first_day", callback=_day, help="First day (YYYY-MM-DD); default: today.")
@click.option("--to", "last_day", callback=_day, help="Last day (YYYY-MM-DD); default: --from.")
def aggregate_metrics_command(first_day: date | None, last_day: date | None) -> None:
    """Compute and store every department's daily figures for the days given (again if stored;
    a past day already stored keeps the service targets it was judged against)."""
    first_day = first_day or clock.today()
    last_day = last_day or first_day
    if last_day < first_day:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    if (last_day - first_day).days >= MAX_DAYS:
        raise click.BadParameter(f"at most {MAX_DAYS} days at a time", param_hint="--to")
    written = store_day_metrics(first_day, last_day)
    db.session.commit()
    click.echo(f"Stored {written} daily figure row(s) from {first_day} to {last_day}.")
