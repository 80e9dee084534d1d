DROP TABLE campaign_run_counts;
