package kubelet

import (
	"errors"
	"os"
	"strconv"
)

func readFile(p string) ([]byte, error) { return os.ReadFile(p) }
func itoa(i int) string                 { return strconv.Itoa(i) }
func errorsAs(err error, target any) bool {
	return err != nil && errors.As(err, target)
}
