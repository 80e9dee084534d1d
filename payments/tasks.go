package payments

// Task types payments asks the worker to run through the outbox, and the
// periodic ones app schedules.
const (
	TaskCloseOrder        = "payments:close-order"
	TaskCloseOrders       = "payments:close-orders"
	TaskAccrueCommissions = "payments:accrue-commissions" // no longer added: payments accrue in their own transaction; kept for messages queued before
	TaskSubmitRefund      = "payments:submit-refund"
	TaskReverseCommission = "payments:reverse-commissions"
	TaskUploadShipping    = "payments:upload-shipping"

	TaskSweepExpired      = "payments:sweep-expired"
	TaskReconcileOrders   = "payments:reconcile-orders"
	TaskReconcileRefunds  = "payments:reconcile-refunds"
	TaskSettleCommissions = "payments:settle-commissions"
)

// OrderTask is the payload of the order tasks.
type OrderTask struct {
	OrderID string `json:"order_id"`
}

// RefundTask is the payload of the refund tasks.
type RefundTask struct {
	RefundID string `json:"refund_id"`
}

// OrdersTask is the payload of TaskCloseOrders: orders created together
// (a batch of flash-sale wins), closed together once the last of them
// may no longer be paid.
type OrdersTask struct {
	OrderIDs []string `json:"order_ids"`
}
