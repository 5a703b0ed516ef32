# The console's times are to the second: a session's steps (created, connecting, started,
# the last heartbeat) are seconds apart, and Django's English "8:09 a.m." hides that. The
# 24-hour clock matches the clocks in the session page's tables ("08:09:41").
DATETIME_FORMAT = "N j, Y, H:i:s"
SHORT_DATETIME_FORMAT = "m/d/Y H:i:s"
TIME_FORMAT = "H:i:s"
