"""The fake's HTTP edge: what turns requests into calls on the fake and answers into bytes.

Kept apart from the fake itself so that the library (``FakeLMIF``, the world, delivery) can be
used and tested with no server at all, and so the edge's many small modules do not hide the
core's few.
"""
