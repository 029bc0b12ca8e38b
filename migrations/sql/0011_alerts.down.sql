DROP TABLE IF EXISTS analytics.alert_notifications;
DROP TABLE IF EXISTS analytics.alert_verdicts;
