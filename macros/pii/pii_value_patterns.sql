{#-
    The regular expressions (matches_pattern syntax: no backslashes) that recognise an email
    address or a phone number in a string value, in one place for every PII check: the
    no_pii_pattern generic test and the assert_no_pii_in_marts scan. A salted hash
    (64 hex characters) matches neither. A phone number has at most 15 digits (E.164), so at
    most 20 characters with its formatting: a longer run of digits (an md5 session id that
    happens to be all digits, one in millions) is not a phone.
-#}
{% macro pii_value_patterns() -%}
    {{ return({
        'email': '[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+[.][A-Za-z0-9.-]+',
        'phone': '^[+]?[0-9][0-9 ().-]{5,18}[0-9]$',
    }) }}
{%- endmacro %}
