-- setting_insert: store setting $1 = $2 unless it exists. No row when it existed.
insert into {{schema}}.settings (key, value) values ($1, $2) on conflict (key) do nothing returning value
