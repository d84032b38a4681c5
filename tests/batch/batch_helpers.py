"""Names the batch tests share. (A module of its own: test files import it, and conftest modules of
different folders share one name.)"""

TRUNCATED = "000002"  # the clip cut short: it ends part-way through (frame 15 of 45)
