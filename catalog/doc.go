// Package catalog holds what a brand sells: products and their SKUs with
// stock, publishing, a show's lineup (货盘) with live-only prices, and flash
// sales with their Redis stock engine.
//
// # Flash sales
//
// Creating a flash sale allots its quantity from the SKU's stock and arms
// the sale in Redis. A buyer's claim runs one Lua script that checks the
// sale's window, the sold-out flag, the member's limit and the stock, and,
// when it wins, decrements the stock, counts the member's units, records
// the claim and appends it to the sale's journal (a Redis stream), all at
// once. Losers after the last unit are answered by the sold-out flag
// without touching the stock.
//
// A won claim becomes an order through a ClaimSink (payments). The request
// that won persists it at once; should the process die between the script
// and the database, the journal still holds the claim and Journal.Drain
// persists it. Journal.Reconcile compares Redis with the database and
// repairs either side: claims Redis holds but the database lacks are
// persisted, claims the database holds but Redis lost are restored, claims
// released in the database are released in Redis, and a sale Redis forgot
// entirely is armed again from the database. Journal.Finish returns the
// unsold units of an ended sale to the SKU.
//
// Redis keys of one sale share the hash tag {fs:ID}, so the script touches
// one slot and also works on Redis Cluster.
package catalog
