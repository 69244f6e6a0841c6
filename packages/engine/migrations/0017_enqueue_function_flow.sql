-- keel:additive — replaces a function with one that takes one more option; older code never calls it
-- 0017: the SQL enqueue(queue, target, payload, options) keys its job by the queue's flow key
-- expression, else an HTTP job by its target's host, as the engine's enqueue does (0016,
-- decision 051), and takes options.flowKey.
-- Without this a job enqueued in SQL to a queue with flow control would carry no key and run
-- outside its key's limits. Singleton and debounce are the engine's and the API's for now.
create or replace function enqueue(p_queue text, p_target jsonb, p_payload jsonb default null, p_options jsonb default null)
returns bigint
language plpgsql
set search_path from current
as $$
declare
  q text := coalesce(p_queue, 'default');
  o jsonb := coalesce(p_options, '{}'::jsonb);
  k text;
  v jsonb;
  v_url text;
  v_handler text;
  v_run_at timestamptz;
  v_delay_ms bigint;
  v_backoff jsonb;
  v_dedupe_key text;
  v_tenant text;
  v_flow_key text;
  v_max_attempts integer;
  v_job_id bigint;
begin
  if q !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$' then
    raise exception using errcode = '22023',
      message = format('keel.enqueue: queue %L: 1–100 letters, digits and _.:- starting with a letter or digit', q);
  end if;

  -- target: {"handler": name} or {"url", "method"?, "headers"?, "timeoutMs"?}
  if p_target is null or jsonb_typeof(p_target) <> 'object' then
    raise exception using errcode = '22023',
      message = 'keel.enqueue: target must be {"handler": …} or {"url": …, "method"?, "headers"?, "timeoutMs"?}';
  end if;
  if p_target ? 'url' then
    for k in select jsonb_object_keys(p_target) loop
      if k not in ('url', 'method', 'headers', 'timeoutMs') then
        raise exception using errcode = '22023',
          message = format('keel.enqueue: target.%s: unknown option; accepted: url, method, headers, timeoutMs', k);
      end if;
    end loop;
    v_url := p_target ->> 'url';
    if jsonb_typeof(p_target -> 'url') <> 'string' or length(v_url) > 2048 or v_url !~* '^https?://[^/?#\s]+' then
      raise exception using errcode = '22023',
        message = 'keel.enqueue: target.url: must be an absolute http(s) URL of at most 2048 characters';
    end if;
    if v_url ~* '^https?://[^/?#]*@' then
      raise exception using errcode = '22023',
        message = 'keel.enqueue: target.url: must not contain credentials (user:password@); send them in a header with ${VAR} instead';
    end if;
    if p_target ? 'method' and coalesce(p_target ->> 'method', '') not in ('GET', 'POST', 'PUT', 'PATCH', 'DELETE') then
      raise exception using errcode = '22023',
        message = 'keel.enqueue: target.method: one of GET, POST, PUT, PATCH, DELETE';
    end if;
    if p_target ? 'timeoutMs' and (jsonb_typeof(p_target -> 'timeoutMs') <> 'number'
        or (p_target ->> 'timeoutMs')::numeric not between 1000 and 3600000
        or (p_target ->> 'timeoutMs')::numeric <> trunc((p_target ->> 'timeoutMs')::numeric)) then
      raise exception using errcode = '22023',
        message = 'keel.enqueue: target.timeoutMs: a whole number of milliseconds from 1000 (1 s) to 3600000 (1 h)';
    end if;
    if p_target ? 'headers' then
      if jsonb_typeof(p_target -> 'headers') <> 'object' then
        raise exception using errcode = '22023', message = 'keel.enqueue: target.headers: an object of strings';
      end if;
      for k, v in select * from jsonb_each(p_target -> 'headers') loop
        if k !~ '^[A-Za-z0-9!#$%&''*+.^_`|~-]+$' then
          raise exception using errcode = '22023', message = format('keel.enqueue: target.headers.%s: invalid header name', k);
        end if;
        if jsonb_typeof(v) <> 'string' or length(v #>> '{}') > 8192 then
          raise exception using errcode = '22023',
            message = format('keel.enqueue: target.headers.%s: a string of at most 8192 characters', k);
        end if;
      end loop;
    end if;
    v_handler := '@http';
  elsif p_target ? 'handler' then
    for k in select jsonb_object_keys(p_target) loop
      if k <> 'handler' then
        raise exception using errcode = '22023',
          message = format('keel.enqueue: target.%s: unknown option; accepted: handler | url, method, headers, timeoutMs', k);
      end if;
    end loop;
    v_handler := p_target ->> 'handler';
    if jsonb_typeof(p_target -> 'handler') <> 'string' or v_handler !~ '^[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,199}$' then
      raise exception using errcode = '22023', message = 'keel.enqueue: target.handler: letters, digits and _.:/- only';
    end if;
  else
    raise exception using errcode = '22023', message = 'keel.enqueue: target needs either a handler or a url';
  end if;

  if p_payload is not null and octet_length(p_payload::text) > 1048576 then
    raise exception using errcode = '54000',
      message = format('keel.enqueue: payload is %s bytes of JSON; the limit is 1048576', octet_length(p_payload::text));
  end if;

  -- options: {"delayMs"?, "runAt"?, "priority"?, "maxAttempts"?, "backoff"?, "dedupeKey"?, "tenant"?, "flowKey"?}
  if jsonb_typeof(o) <> 'object' then
    raise exception using errcode = '22023', message = 'keel.enqueue: options must be a JSON object or null';
  end if;
  for k in select jsonb_object_keys(o) loop
    if k not in ('delayMs', 'runAt', 'priority', 'maxAttempts', 'backoff', 'dedupeKey', 'tenant', 'flowKey') then
      raise exception using errcode = '22023',
        message = format('keel.enqueue: options.%s: unknown option; accepted: delayMs, runAt, priority, maxAttempts, backoff, dedupeKey, tenant, flowKey', k);
    end if;
  end loop;
  if o ? 'delayMs' and o ? 'runAt' then
    raise exception using errcode = '22023', message = 'keel.enqueue: give either delayMs or runAt, not both';
  end if;
  if o ? 'delayMs' then
    if jsonb_typeof(o -> 'delayMs') <> 'number' or (o ->> 'delayMs')::numeric <> trunc((o ->> 'delayMs')::numeric)
        or (o ->> 'delayMs')::numeric not between 0 and 315360000000 then
      raise exception using errcode = '22023', message = 'keel.enqueue: options.delayMs: a whole number of milliseconds, 0 to ten years';
    end if;
    v_delay_ms := (o ->> 'delayMs')::bigint;
  end if;
  if o ? 'runAt' then
    begin
      v_run_at := (o ->> 'runAt')::timestamptz;
    exception when others then
      raise exception using errcode = '22023', message = 'keel.enqueue: options.runAt: an ISO 8601 time with an offset';
    end;
  end if;
  if o ? 'priority' and (jsonb_typeof(o -> 'priority') <> 'number'
      or (o ->> 'priority')::numeric <> trunc((o ->> 'priority')::numeric)
      or (o ->> 'priority')::numeric not between -32768 and 32767) then
    raise exception using errcode = '22023', message = 'keel.enqueue: options.priority: a whole number from -32768 to 32767';
  end if;
  if o ? 'maxAttempts' then
    if jsonb_typeof(o -> 'maxAttempts') <> 'number' or (o ->> 'maxAttempts')::numeric <> trunc((o ->> 'maxAttempts')::numeric)
        or (o ->> 'maxAttempts')::numeric not between 1 and 1000 then
      raise exception using errcode = '22023', message = 'keel.enqueue: options.maxAttempts: a whole number from 1 to 1000';
    end if;
    v_max_attempts := (o ->> 'maxAttempts')::integer;
  end if;
  if o ? 'backoff' then
    v_backoff := o -> 'backoff';
    if jsonb_typeof(v_backoff) <> 'object' or not (
         (v_backoff ->> 'type' = 'exponential' and v_backoff - array['type', 'baseMs', 'maxMs', 'jitter'] = '{}'::jsonb)
      or (v_backoff ->> 'type' = 'fixed' and jsonb_typeof(v_backoff -> 'delayMs') = 'number' and v_backoff - array['type', 'delayMs'] = '{}'::jsonb)
      or (v_backoff ->> 'type' = 'list' and jsonb_typeof(v_backoff -> 'delaysMs') = 'array'
          and jsonb_array_length(v_backoff -> 'delaysMs') between 1 and 100 and v_backoff - array['type', 'delaysMs'] = '{}'::jsonb)) then
      raise exception using errcode = '22023',
        message = 'keel.enqueue: options.backoff: {"type":"exponential","baseMs"?,"maxMs"?,"jitter"?}, {"type":"fixed","delayMs"} or {"type":"list","delaysMs":[…]}';
    end if;
  end if;
  if o ? 'dedupeKey' then
    v_dedupe_key := o ->> 'dedupeKey';
    if jsonb_typeof(o -> 'dedupeKey') <> 'string' or length(v_dedupe_key) not between 1 and 255 then
      raise exception using errcode = '22023', message = 'keel.enqueue: options.dedupeKey: a string of 1–255 characters';
    end if;
  end if;
  if o ? 'tenant' then
    v_tenant := o ->> 'tenant';
    if jsonb_typeof(o -> 'tenant') <> 'string' or length(v_tenant) not between 1 and 255 then
      raise exception using errcode = '22023', message = 'keel.enqueue: options.tenant: a string of 1–255 characters';
    end if;
  end if;

  if o ? 'flowKey' then
    v_flow_key := o ->> 'flowKey';
    if jsonb_typeof(o -> 'flowKey') <> 'string' or length(v_flow_key) not between 1 and 255 then
      raise exception using errcode = '22023', message = 'keel.enqueue: options.flowKey: a string of 1–255 characters';
    end if;
  end if;

  if exists (select 1 from switches s where s.name = 'enqueue:' || q and not s.enabled) then
    raise exception using errcode = '55000',
      message = format('keel.enqueue: enqueueing to queue %L is switched off (switch enqueue:%s)', q, q),
      hint = format('turn it back on with: keel switches set enqueue:%s on', q);
  end if;

  insert into queues (name) values (q) on conflict (name) do nothing;
  -- A job's own flow key makes the queue's claims take the limited path, as the engine's enqueue does.
  if v_flow_key is not null or v_handler = '@http' then
    update queues set flow_jobs = true where name = q and not flow_jobs;
  end if;
  v_run_at := coalesce(v_run_at, now() + coalesce(v_delay_ms, 0) * interval '1 millisecond');

  -- As the engine's enqueue: a live job with the same dedupe key is the answer (the no-op update
  -- makes it visible even when a concurrent transaction inserted it).
  insert into jobs as j (queue, handler, state, target, payload, run_at, priority, max_attempts, backoff, dedupe_key, tenant,
                         flow_key)
  select q, v_handler, case when v_run_at > now() then 'scheduled' else 'available' end, p_target,
         coalesce(p_payload, 'null'::jsonb), v_run_at, coalesce((o ->> 'priority')::integer, 0),
         coalesce(v_max_attempts, qs.max_attempts), coalesce(v_backoff, qs.backoff), v_dedupe_key, v_tenant,
         coalesce(v_flow_key, flow_key_of(qs.flow_key, v_tenant, p_target, coalesce(p_payload, 'null'::jsonb)),
                  case when v_handler = '@http' then flow_key_of('host', null, p_target, null) end)
  from queues qs where qs.name = q
  on conflict (queue, dedupe_key) where dedupe_key is not null
  do update set dedupe_key = excluded.dedupe_key
  returning j.id into v_job_id;
  return v_job_id;
end
$$;
