"""The CFO report page and its CSV export: read the filters, build the report, render it.

Every figure is computed in ``revtain.reporting``; bad filters get the page (or a plain-text
answer for the CSV) with the problem named and a 400, never a guess.
"""

from __future__ import annotations

from flask import Response, render_template, request, url_for

from ..clock import now as clock_now
from ..reporting import filters, presentation, report
from . import bp, client_zone, current_client
from .auth import requires


def _filter(client) -> tuple[filters.ReportFilter, list[str]]:
    zone = client_zone(client)
    today = clock_now().astimezone(zone).date()
    try:
        return filters.parse(request.args, zone, today), []
    except filters.FilterError as exc:
        first, last = filters.default_range(today)
        return filters.ReportFilter(first, last, zone), exc.messages


@bp.get("/reports/cfo")
@requires("reports")
def cfo_report():
    client = current_client()
    chosen, errors = _filter(client)
    built = report.build(client, chosen, clock_now())
    page = render_template(
        "dashboard/report.html",
        report=built,
        summary=built.summary,
        proof=built.proof,
        charts=presentation.charts(built),
        month_label=presentation.month_label,
        errors=errors,
        values={k: request.args.get(k, "") for k in ("from", "to", "currency")}
        if errors
        else chosen.query_args(),
        csv_url=url_for("dashboard.cfo_report_csv", **chosen.query_args()),
    )
    return page, 400 if errors else 200


@bp.get("/reports/cfo.csv")
@requires("reports")
def cfo_report_csv():
    client = current_client()
    chosen, errors = _filter(client)
    if errors:
        return Response(" ".join(errors) + "\n", status=400, mimetype="text/plain")
    body = report.to_csv(report.build(client, chosen, clock_now()))
    suffix = f"-{chosen.currency}" if chosen.currency else ""
    name = f"revtain-cfo-report-{chosen.first_day}-to-{chosen.last_day}{suffix}.csv"
    return Response(
        body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
