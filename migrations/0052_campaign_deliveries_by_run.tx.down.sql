CREATE INDEX campaign_deliveries_campaign ON campaign_deliveries (campaign_id, member_id);
