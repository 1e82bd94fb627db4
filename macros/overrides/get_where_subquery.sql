{#-
    Overrides dbt's built-in, which every generic data test calls on the relation it tests:
    scoped tests. When the environment variable WAREHOUSE_TEST_ROWS_LOADED_AFTER holds a UTC
    timestamp (`warehouse run` sets it to the start of the last green build, unless
    --full-test), a test on a model that has one of the load columns in var
    test_scope_columns checks only the rows with that column after it: the rows loaded or
    rebuilt since. Models without one and unit tests are whole-table as before, and so is
    every test when it is unset (`warehouse build`, a first build, `warehouse run
    --full-test`). Singular tests scope the relations they choose with test_scoped() (the
    same rule). The test's own `where` config still applies, and a relationships test's
    parent side (its `to`) is never scoped. An environment variable, not a dbt var: a var
    that changes on every run would make dbt parse the whole project again.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set filters = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do filters.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set scope_column = test_scope_column(relation) -%}
    {%- if scope_column -%}
        {%- do filters.append(test_scope_condition(scope_column)) -%}
    {%- endif -%}
    {%- if filters -%}
        {#- The alias keeps Spark from reading `where (...)` as a table alias `where` with
            column aliases (its default dialect does not reserve the word). -#}
        {%- set filtered -%}
            (
                select * from {{ relation }} as tested_relation
                where {{ filters | join(' and ') }}
            ) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#-
    For singular tests: relation (a ref the test depends on) as a scoped run tests it, only
    its rows loaded or rebuilt since the last green build when the model has a load column
    and WAREHOUSE_TEST_ROWS_LOADED_AFTER is set, else the whole relation. Use it as
    `select * from {{ test_scoped(ref('model')) }}`.
-#}
{% macro test_scoped(relation) -%}
    {%- set scope_column = test_scope_column(relation) -%}
    {%- if scope_column -%}
        {#- One line: it renders inside the test's own layout. -#}
        {%- do return(
            '(select * from ' ~ relation ~ ' as tested_relation where '
            ~ test_scope_condition(scope_column) ~ ') as test_scoped_relation'
        ) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#- The filter of a scoped test on the load column: after the last green build started. -#}
{% macro test_scope_condition(scope_column) -%}
    {{ scope_column }} > cast('{{ env_var('WAREHOUSE_TEST_ROWS_LOADED_AFTER') }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#-
    The load column a scoped test filters relation on: that of the model (or snapshot) the
    test depends on with that relation's name (node_test_scope_column); none when the test
    depends on no such node.
-#}
{% macro test_scope_column(relation) -%}
    {%- if not execute -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- for unique_id in model.depends_on.nodes -%}
        {%- set node = graph.nodes.get(unique_id) -%}
        {%- if node and node.resource_type in ('model', 'snapshot')
            and (node.alias or node.name) == relation.identifier
            and node.schema == relation.schema -%}
            {%- do return(node_test_scope_column(node)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do return(none) -%}
{%- endmacro %}

{#-
    The load column scoped tests filter a graph node's table on: the first of var
    test_scope_columns documented on the node; none when WAREHOUSE_TEST_ROWS_LOADED_AFTER is
    unset or empty (every test whole-table), or the node has none of them.
-#}
{% macro node_test_scope_column(node) -%}
    {%- if not (execute and env_var('WAREHOUSE_TEST_ROWS_LOADED_AFTER', '')) -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- for column in var('test_scope_columns', []) -%}
        {%- if column in node.columns -%}
            {%- do return(column) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do return(none) -%}
{%- endmacro %}
