"""Patient flows as curved flow lines: the reader and the geometry live in :mod:`kkr_geo.layers.flows` (the
``patientstroemme`` dataset is made there); re-exported here for callers of the old place."""

from kkr_geo.layers.flows import COUNT_COLUMNS, FROM_COLUMNS, TO_COLUMNS, flow_lines, read_flow_table

__all__ = ["COUNT_COLUMNS", "FROM_COLUMNS", "TO_COLUMNS", "flow_lines", "read_flow_table"]
