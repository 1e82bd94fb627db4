"""The simulated third parties GlobalRetail buys from: a payment processor, an ad platform and a
review service.

``data`` keeps each vendor's own records in PostgreSQL (schema ``demo_api``, as if it were the
vendors' databases), derived from the shop's order plans so that payments match orders;
``server`` serves them over HTTP the way the real services do (bearer tokens, pagination, rate
limits, failures).
"""
