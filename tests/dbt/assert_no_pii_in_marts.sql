{#-
    No PII in what analysts and BI tools can read. Scans every persisted model of the marts
    and intermediate layers and every snapshot (found in the graph, columns read from the
    database, so new models are covered without editing this test) and returns:
    - columns named like the shop's PII columns (email, phone, names, street, postal code);
    - string values that look like an email address or a phone number (the patterns of
      pii_value_patterns(), shared with the no_pii_pattern generic test).
    email_hash values are 64 hex characters: they match neither pattern.
    Ephemeral models (most of the intermediate layer) are never persisted: what they carry
    reaches the warehouse only through a mart, which is scanned here.
    The depends_on lines make dbt build the marts and snapshots before it runs this test.
    Scope: the value, a row at a time. A scoped run scans, in each model with a load column
    (node_test_scope_column, the rule of test_scoped), the rows loaded or rebuilt since the
    last green build, and every row of the others; column names are always checked.
    Whole-table otherwise.
-#}
-- depends_on: {{ ref('fct_orders') }}
-- depends_on: {{ ref('fct_order_items') }}
-- depends_on: {{ ref('dim_customers') }}
-- depends_on: {{ ref('dim_products') }}
-- depends_on: {{ ref('fct_daily_sales') }}
-- depends_on: {{ ref('fct_daily_category_sales') }}
-- depends_on: {{ ref('fct_shipments') }}
-- depends_on: {{ ref('fct_sessions') }}
-- depends_on: {{ ref('fct_daily_web_activity') }}
-- depends_on: {{ ref('fct_campaign_performance') }}
-- depends_on: {{ ref('fct_payment_reconciliation') }}
-- depends_on: {{ ref('customer_features') }}
-- depends_on: {{ ref('snp_shop__customers') }}
-- depends_on: {{ ref('snp_shop__products') }}

{%- set pii_column_names = [
    'email', 'phone', 'first_name', 'last_name', 'street_address', 'postal_code',
] -%}
{%- set email_pattern = pii_value_patterns().email -%}
{%- set phone_pattern = pii_value_patterns().phone -%}
{%- set checks = [] -%}

{%- if execute -%}
    {%- for node in graph.nodes.values()
        if (
            node.resource_type == 'snapshot'
            or node.resource_type == 'model' and node.fqn[1] in ['marts', 'intermediate']
        )
        and node.config.materialized != 'ephemeral' -%}
        {%- set relation = adapter.get_relation(
            database=node.database, schema=node.schema, identifier=node.alias,
        ) -%}
        {%- set scope_column = node_test_scope_column(node) -%}
        {%- for column in (adapter.get_columns_in_relation(relation) if relation else []) -%}
            {%- set label = "'" ~ node.name ~ "' as model_name, '"
                ~ column.name ~ "' as column_name" -%}
            {%- if column.name | lower in pii_column_names -%}
                {%- do checks.append(
                    "select " ~ label ~ ", 'PII column' as finding, "
                    ~ "cast(null as " ~ dbt.type_string() ~ ") as sample_value"
                ) -%}
            {%- elif column.is_string() -%}
                {%- set quoted = adapter.quote(column.name) -%}
                {%- do checks.append(
                    "select " ~ label ~ ", 'PII value' as finding, "
                    ~ quoted ~ " as sample_value from " ~ relation
                    ~ " where (" ~ matches_pattern(quoted, email_pattern)
                    ~ " or " ~ matches_pattern(quoted, phone_pattern) ~ ")"
                    ~ (" and " ~ test_scope_condition(scope_column) if scope_column else "")
                ) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
{%- endif %}

{% if checks -%}
    {{ checks | join('\nunion all\n') }}
{%- else -%}
    select
        cast(null as {{ dbt.type_string() }}) as model_name,
        cast(null as {{ dbt.type_string() }}) as column_name,
        cast(null as {{ dbt.type_string() }}) as finding,
        cast(null as {{ dbt.type_string() }}) as sample_value
    where false
{%- endif %}
