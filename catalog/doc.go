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
// once. Claims that arrive while others are at Redis are decided together
// by one run of the script (group commit), each with its own outcome, as
// if it had run alone. Losers after the last unit are answered by the
// sold-out flag without touching the stock.
//
// A claim in the journal is a durable win: the request answers at once,
// and the claim becomes an order through a ClaimSink (payments) moments
// later. Journal.Run, in every process that serves claims, persists the
// claims that process won, many per transaction, and deletes their
// journal entries after the commit. Should a process die first, its
// entries stay in the journal, and Journal.Drain persists them once they
// are older than orphanAfter. Journal.Reconcile compares Redis with the
// database and repairs either side: claims Redis holds but the database
// lacks are persisted, claims the database holds but Redis lost are
// restored, claims released in the database are released in Redis, and a
// sale Redis forgot entirely is armed again from the database.
// Journal.Finish returns the unsold units of an ended sale to the SKU.
//
// Redis keys of one sale share the hash tag {fs:ID}, so the script touches
// one slot and also works on Redis Cluster.
package catalog
