"""The CFO report: pure queries and figures (no request, no template).

``filters.parse`` reads the request's filters, ``report.build`` computes every figure,
``report.to_csv`` exports them and ``presentation.charts`` draws them as accessible SVG.
The dashboard view only wires these together.
"""
