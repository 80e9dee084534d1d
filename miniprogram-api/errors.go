package miniprogramapi

import (
	"github.com/siyu-live/siyu/edge"
)

// errorTable maps domain sentinels to answers. Anything not listed is a 500.
var errorTable = []edge.Mapping{}
