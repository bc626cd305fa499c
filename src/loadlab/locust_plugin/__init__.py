"""Code that loadlab loads into Locust's own processes, beside the user's locustfile.

Only Locust imports these modules (they import locust, which patches the interpreter with gevent);
loadlab itself only needs their path.
"""
