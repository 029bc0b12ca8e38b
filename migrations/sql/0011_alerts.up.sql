-- Alerts judged per day, and the notifications sent about them.
--
-- A label_metrics run writes one verdict per (day, alert) of its window, replacing that day's
-- earlier verdict only: backfilling an old day changes that day's verdict and no other. A day
-- with no data is 'no_data', never 'ok'.
CREATE TABLE analytics.alert_verdicts (
    day          date             NOT NULL,
    alert        text             NOT NULL,
    status       text             NOT NULL CHECK (status IN ('breached', 'ok', 'no_data')),
    value        double precision,
    threshold    double precision NOT NULL,
    evaluated_at timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (day, alert)
);
COMMENT ON TABLE analytics.alert_verdicts IS
    'One verdict per UTC day and alert threshold of label_metrics; replaced when the day is re-run.';

-- What the alert sensors sent, so a restart (or a second daemon tick) never sends it twice:
-- one row per subject (an alert on a day, or a failed run) and channel.
CREATE TABLE analytics.alert_notifications (
    subject  text        NOT NULL,
    channel  text        NOT NULL,
    sent_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subject, channel)
);
COMMENT ON TABLE analytics.alert_notifications IS
    'Notifications sent by the Dagster alert sensors (webhook, mail); the key makes them once-only.';
