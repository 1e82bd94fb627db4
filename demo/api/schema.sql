-- The third parties' own records, as if each vendor's database were here (schema `demo_api`).
-- Written by demo/api/data.py from the shop's order plans; read by demo/api/server.py.
-- Keys and indexes of the big tables come after the history's bulk insert (see @constraints).

create schema if not exists demo_api;

-- The ad platform. A campaign appears once created (a few days before it starts); `status` and
-- `updated_at` move when it starts and when it ends. A campaign runs at instant t when
-- started_at <= t and (ended_at is null or t < ended_at).
create table demo_api.campaigns (
    campaign_id         text primary key,
    campaign_name       text not null,
    channel             text not null check (
        channel in ('paid_search', 'social', 'email', 'display', 'affiliate')
    ),
    utm_source          text not null,
    utm_medium          text not null,
    utm_campaign        text not null unique,
    status              text not null check (status in ('scheduled', 'active', 'ended')),
    daily_budget_cents  bigint not null,
    currency            char(3) not null,
    started_at          timestamptz not null,
    ended_at            timestamptz,
    created_at          timestamptz not null,
    updated_at          timestamptz not null
);

-- Daily delivery per campaign and UTC day: reported preliminary the next morning, restated
-- (final) two days later, as ad platforms do while late conversions and fraud filtering settle.
create table demo_api.ad_spend (
    campaign_id         text not null,
    spend_date          date not null,
    impressions         bigint not null,
    clicks              bigint not null,
    spend_cents         bigint not null,
    currency            char(3) not null,
    is_final            boolean not null,
    updated_at          timestamptz not null
);

-- The payment processor: one charge per payment attempt (declined ones included), in cents.
create table demo_api.charges (
    charge_id           text not null,
    order_id            bigint not null,
    amount_cents        bigint not null,
    currency            text not null,
    status              text not null check (status in ('succeeded', 'failed')),
    failure_code        text,
    -- The card holder's details at checkout, as Stripe's billing_details carries them.
    billing_email       text,
    billing_name        text,
    created_at          timestamptz not null
);

create table demo_api.refunds (
    refund_id           text not null,
    charge_id           text not null,
    order_id            bigint not null,
    amount_cents        bigint not null,
    currency            text not null,
    reason              text not null,
    status              text not null,
    created_at          timestamptz not null
);

-- The review service: one review per reviewed order (of one of its products); customers
-- sometimes edit a review days later, which moves `updated_at`.
create table demo_api.reviews (
    review_id           text not null,
    order_id            bigint not null,
    product_id          bigint not null,
    rating              smallint not null check (rating between 1 and 5),
    title               text,
    body                text,
    created_at          timestamptz not null,
    updated_at          timestamptz not null
);

-- @constraints
alter table demo_api.ad_spend add primary key (campaign_id, spend_date);
alter table demo_api.ad_spend add foreign key (campaign_id) references demo_api.campaigns;
alter table demo_api.charges add primary key (charge_id);
alter table demo_api.refunds add primary key (refund_id);
alter table demo_api.refunds add foreign key (charge_id) references demo_api.charges;
alter table demo_api.reviews add primary key (review_id);
-- The servers' list orders: Stripe's newest first, the others oldest change first.
create index on demo_api.charges (created_at, charge_id);
create index on demo_api.refunds (created_at, refund_id);
create index on demo_api.ad_spend (updated_at, campaign_id, spend_date);
create index on demo_api.reviews (updated_at, review_id);
