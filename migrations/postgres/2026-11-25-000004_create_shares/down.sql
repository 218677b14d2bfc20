DROP TABLE share_daily_totals;
DROP TABLE share_daily;
DROP TABLE share_counts;
DROP TABLE share_events;
