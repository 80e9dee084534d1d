// Package analytics computes a show's figures from the rows the show
// itself produced: viewer sessions and comments (live), product clicks
// (recorded here), orders and their lines (payments), coupon drops and
// coupons (community), reservations (live), WeCom conversions and member
// touches (community).
//
// It only reads other areas' tables; the two tables it owns are
// product_clicks (a shopper opening a product card in a show, the second
// step of the funnel) and show_samples (a live show's running like total
// every few seconds, because likes are summed in Redis and only their total
// is kept on the show).
//
// What the figures mean:
//   - Unique viewers are the distinct members with at least one joined
//     viewer session; watch time sums a member's sessions, an open session
//     counting until the show ended (or now, while live).
//   - Peak viewers is the most sessions open at one instant, computed from
//     the sessions' intervals (a leave and a join at the same instant are a
//     reconnect, not two viewers). The viewers-over-time series gives, for
//     each minute since the show went live, the most viewers at once in
//     that minute, so its highest point is the peak.
//   - Comments count every comment posted (hidden and deleted ones too,
//     each also counted apart); likes per minute come from the samples, and
//     likes the samples missed at the end fall in the last minute, so the
//     minutes add up to the show's like total.
//   - Orders are the orders attributed to the show (orders.show_id), paid
//     ones are those with a payment time; GMV is the total paid by buyers
//     (coupon discounts deducted, later refunds not), refunds are reported
//     apart. Per product, paid amount is the lines' totals before
//     order-level discounts.
//   - The funnel counts distinct members at each step: viewed, clicked a
//     product, ordered, paid.
//   - Coupon claims are the coupons granted from the show's drops;
//     redemptions are those of them used on a paid order.
//   - Reservations that turned into viewers are the reserving members who
//     joined the show at least once.
//   - WeCom contacts and group joins are the conversions whose way was
//     made for the show; top inviters rank the members named as inviter by
//     the show's paid orders, share-link arrivals and WeCom conversions.
package analytics
