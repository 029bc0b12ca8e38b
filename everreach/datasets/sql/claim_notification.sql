-- Claim the notification about %(subject)s on %(channel)s: a row back means nobody sent it yet.
INSERT INTO analytics.alert_notifications (subject, channel)
VALUES (%(subject)s, %(channel)s)
ON CONFLICT DO NOTHING
RETURNING subject
