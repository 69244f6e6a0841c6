-- setting_get: the value of setting $1.
select value from {{schema}}.settings where key = $1
