"""Schemas of /analytics/daily and /analytics/weekly (API.md, Metrics)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from webapp.api.schemas.common import not_nullable
from webapp.database import MAX_ID

CSV_CONTENT = {
    "text/csv": {
        "schema": {
            "type": "string",
            "description": "With ?format=csv: a header, one row per department, a totals row "
            "and (weekly) one row per day",
        }
    }
}


class _ReportQuery(BaseModel):
    department_id: int | None = Field(
        None,
        ge=1,
        le=MAX_ID,
        description="Only this department (an unknown id is 422); all departments by default",
        json_schema_extra=not_nullable(),
    )
    format: Literal["json", "csv"] | None = Field(
        None,
        description="csv: the same figures as text/csv, as an attachment (json by default)",
        json_schema_extra=not_nullable(),
    )


class DailyQuery(_ReportQuery):
    # Plain text judged by the reports service, so the page and the API say the same 422.
    day: str | None = Field(
        None,
        alias="date",
        max_length=10,
        description="YYYY-MM-DD, a day in HOSPITAL_TIMEZONE (today by default)",
        json_schema_extra=not_nullable({"format": "date"}),
    )


class WeeklyQuery(_ReportQuery):
    week: str | None = Field(
        None,
        max_length=8,
        description="An ISO week YYYY-Www, e.g. 2026-W49 (this week by default)",
        json_schema_extra=not_nullable({"pattern": r"^\d{4}-W\d{2}$"}),
    )


class ClinicianServed(BaseModel):
    clinician_id: int
    name: str | None = Field(description="The clinician's full name (username if none)")
    served: int = Field(description="Visits the clinician completed")


class CalledWithinTarget(BaseModel):
    called: int = Field(description="Tickets of this priority called (their first call)")
    within_target: int = Field(
        description="Of those, called within the target: wait (check-in → first call) ≤ target"
    )
    share: float | None = Field(description="within_target ÷ called, 0..1; null if none called")
    target_minutes: int | None = Field(
        description="The department's target for this priority when the day was aggregated; "
        "null when no ticket gives it, or when the days or departments added up differ"
    )


class CalledWithinTargetByPriority(BaseModel):
    emergency: CalledWithinTarget
    urgent: CalledWithinTarget
    priority: CalledWithinTarget
    routine: CalledWithinTarget


class MetricsOut(BaseModel):
    """A set of figures; null where there is no data. Waits run from check-in to the
    first call (a recall does not restart them), in minutes."""

    tickets_issued: int = Field(description="Tickets of the period (walk-ins + appointments)")
    walk_ins: int
    appointments: int = Field(description="Tickets from a booked appointment's check-in")
    served: int = Field(description="Visits completed")
    no_shows: int
    cancelled: int
    transferred: int
    mean_wait_minutes: float | None
    median_wait_minutes: float | None = Field(description="Whole minutes (nearest rank)")
    p90_wait_minutes: float | None = Field(description="Whole minutes (nearest rank)")
    mean_service_minutes: float | None = Field(description="Started → ended, completed visits")
    arrivals_by_hour: list[int] = Field(
        min_length=24, max_length=24, description="Check-ins per hour 00..23, HOSPITAL_TIMEZONE"
    )
    served_by_clinician: list[ClinicianServed] = Field(description="Most visits first")
    estimate_mean_abs_error_minutes: float | None = Field(
        description="Mean |wait estimated at check-in − actual wait| over called tickets"
    )
    called_within_target: CalledWithinTargetByPriority = Field(
        description="Per priority, the tickets called and how many within the service target; "
        "patients never called are not counted. Past days keep the targets they were stored "
        "with, today uses the targets in force"
    )


class DepartmentMetricsOut(MetricsOut):
    department_id: int


class DayMetricsOut(MetricsOut):
    date: str = Field(description="YYYY-MM-DD", json_schema_extra={"format": "date"})


class DailyOut(BaseModel):
    # flask-openapi3 reads this extra key to declare the text/csv answer too.
    model_config = ConfigDict(openapi_extra={"content": CSV_CONTENT})  # type: ignore[typeddict-unknown-key]

    date: str = Field(json_schema_extra={"format": "date"})
    departments: list[DepartmentMetricsOut] = Field(description="By department name")
    totals: MetricsOut = Field(description="All the departments listed")


class WeeklyOut(BaseModel):
    # flask-openapi3 reads this extra key to declare the text/csv answer too.
    model_config = ConfigDict(openapi_extra={"content": CSV_CONTENT})  # type: ignore[typeddict-unknown-key]

    week: str = Field(description="YYYY-Www")
    start: str = Field(description="The Monday", json_schema_extra={"format": "date"})
    end: str = Field(description="The Sunday", json_schema_extra={"format": "date"})
    departments: list[DepartmentMetricsOut]
    totals: MetricsOut
    days: list[DayMetricsOut] = Field(description="Monday to Sunday, all departments listed")
