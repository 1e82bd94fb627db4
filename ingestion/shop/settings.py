"""Constants of the shop source: what it reads and how it tracks changes."""

# Every table of the shop's OLTP schema, in load order (parents before children).
TABLES = ("customers", "products", "orders", "order_items", "shipments")
# Each table has a surrogate key `id` and an `updated_at` the application moves on every change.
PRIMARY_KEY = "id"
CURSOR_COLUMN = "updated_at"
# Rows whose key has vanished from the source are recorded here (schema raw_shop).
HARD_DELETES_TABLE = "hard_deletes"
