-- The simulated GlobalRetail shop: the OLTP schema the web application writes.
-- Some columns are deliberately legacy: `customers.created_at` and the shipment timestamps are
-- `timestamp without time zone` in the company's local time (America/New_York), as the old
-- back office wrote them; everything newer is `timestamptz`.

create schema if not exists shop;

create table shop.customers (
    id              bigint not null,
    first_name      text not null,
    last_name       text not null,
    email           text,
    phone           text,
    street_address  text,
    city            text,
    postal_code     text,
    country_code    char(2) not null,
    created_at      timestamp without time zone not null,
    updated_at      timestamptz not null,
    deleted_at      timestamptz
);

create table shop.products (
    id              bigint not null,
    sku             text not null,
    product_name    text not null,
    category        text not null,
    price_cents     integer not null check (price_cents > 0),
    currency        char(3) not null default 'USD',
    created_at      timestamptz not null,
    updated_at      timestamptz not null,
    deleted_at      timestamptz
);

create table shop.orders (
    id              bigint not null,
    customer_id     bigint not null,
    status          text not null check (
        status in ('placed', 'paid', 'shipped', 'delivered', 'cancelled', 'returned')
    ),
    currency        char(3) not null default 'USD',
    subtotal_cents  bigint not null,
    shipping_cents  bigint not null,
    total_cents     bigint not null,
    created_at      timestamptz not null,
    updated_at      timestamptz not null,
    deleted_at      timestamptz
);

create table shop.order_items (
    id               bigint not null,
    order_id         bigint not null,
    product_id       bigint not null,
    quantity         integer not null check (quantity > 0),
    unit_price_cents integer not null,
    created_at       timestamptz not null,
    updated_at       timestamptz not null
);

create table shop.shipments (
    id               bigint not null,
    order_id         bigint not null,
    carrier          text not null,
    tracking_number  text not null,
    shipped_at       timestamp without time zone not null,
    delivered_at     timestamp without time zone,
    updated_at       timestamptz not null
);

-- Keys, foreign keys and indexes come after the bulk load of `generate` (as pg_restore does):
-- building them once over loaded tables is several times faster than maintaining them per row.
-- @constraints
alter table shop.customers add primary key (id);
alter table shop.products add primary key (id);
alter table shop.products add unique (sku);
alter table shop.orders add primary key (id);
alter table shop.order_items add primary key (id);
alter table shop.shipments add primary key (id);
alter table shop.shipments add unique (order_id);
alter table shop.orders add foreign key (customer_id) references shop.customers (id);
alter table shop.order_items add foreign key (order_id) references shop.orders (id)
    on delete cascade;
alter table shop.order_items add foreign key (product_id) references shop.products (id);
alter table shop.shipments add foreign key (order_id) references shop.orders (id)
    on delete cascade;
create index on shop.customers (updated_at);
create index on shop.products (updated_at);
create index on shop.orders (updated_at);
create index on shop.orders (customer_id);
create index on shop.order_items (updated_at);
create index on shop.order_items (order_id);
create index on shop.shipments (updated_at);
