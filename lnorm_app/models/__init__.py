"""One page model per page (explorer, compare, pitfalls), and two for Timing: timing_reports and timing_run.

Pure, cached on small keys.
"""
