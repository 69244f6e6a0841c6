-- keel:additive — placeholder for the migration another branch adds with this number; drop at merge
select 1;
