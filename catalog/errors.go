package catalog

import "errors"

// Sentinel errors of the catalog. Callers test them with errors.Is.
var (
	ErrProductNotFound   = errors.New("product not found")
	ErrSKUNotFound       = errors.New("SKU not found")
	ErrInvalidProduct    = errors.New("invalid product")
	ErrInvalidSKU        = errors.New("invalid SKU")
	ErrNotPublished      = errors.New("product is not on sale")
	ErrOutOfStock        = errors.New("not enough stock")
	ErrInvalidLineup     = errors.New("invalid lineup")
	ErrFlashSaleNotFound = errors.New("flash sale not found")
	ErrInvalidFlashSale  = errors.New("invalid flash sale")
	ErrSoldOut           = errors.New("sold out")
	ErrLimitReached      = errors.New("per-member limit reached")
	ErrNotEnoughLeft     = errors.New("fewer units left than asked for")
	ErrNotStarted        = errors.New("flash sale has not started")
	ErrEnded             = errors.New("flash sale has ended")
	ErrNotArmed          = errors.New("flash sale is not armed in Redis")
	ErrClaimNotFound     = errors.New("flash-sale claim not found")
	ErrSaleRunning       = errors.New("flash sale has not ended yet")
)
