package umf

import (
	"bytes"
	"errors"
	"math"
	"strconv"
)

// number appends the JavaScript rendering of the next JSON number.
func (n *normalizer) number(dst []byte) ([]byte, error) {
	lit, simple, err := n.scanNumber()
	if err != nil {
		return dst, err
	}
	if simple && len(lit) <= 15 && string(lit) != "-0" || canonicalDecimal(lit) {
		return append(dst, lit...), nil
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil && !isRangeErr(err) {
		return dst, n.fail("invalid number")
	}
	return appendJSNumber(dst, f), nil
}

// canonicalDecimal reports whether lit, a valid JSON number, is a plain decimal fraction that
// JavaScript prints unchanged: no exponent, no trailing zero, at least 1e-6 in magnitude, and at most
// 15 significant digits (so it is the shortest representation of its double; 15 is DBL_DIG).
func canonicalDecimal(lit []byte) bool {
	if len(lit) > 0 && lit[0] == '-' {
		lit = lit[1:]
	}
	dot := bytes.IndexByte(lit, '.')
	if dot < 0 || lit[len(lit)-1] == '0' || bytes.ContainsAny(lit, "eE") {
		return false
	}
	digits := lit[:dot]
	if lit[0] == '0' { // 0.xxx: leading zeros of the fraction are not significant
		zeros := 0
		for _, c := range lit[dot+1:] {
			if c != '0' {
				break
			}
			zeros++
		}
		if zeros > 5 {
			return false
		}
		digits = lit[dot+1+zeros:]
		return len(digits) <= 15
	}
	return len(digits)+len(lit)-dot-1 <= 15
}

// scanNumber reads a number literal; simple reports an integer without fraction or exponent.
func (n *normalizer) scanNumber() (lit []byte, simple bool, err error) {
	in, start := n.in, n.pos
	p := n.pos
	if p < len(in) && in[p] == '-' {
		p++
	}
	switch {
	case p < len(in) && in[p] == '0':
		p++
	case p < len(in) && in[p] >= '1' && in[p] <= '9':
		for p < len(in) && in[p] >= '0' && in[p] <= '9' {
			p++
		}
	default:
		n.pos = p
		return nil, false, n.fail("invalid number")
	}
	simple = true
	if p < len(in) && in[p] == '.' {
		p++
		if p >= len(in) || in[p] < '0' || in[p] > '9' {
			n.pos = p
			return nil, false, n.fail("invalid number fraction")
		}
		for p < len(in) && in[p] >= '0' && in[p] <= '9' {
			p++
		}
		simple = false
	}
	if p < len(in) && (in[p] == 'e' || in[p] == 'E') {
		p++
		if p < len(in) && (in[p] == '+' || in[p] == '-') {
			p++
		}
		if p >= len(in) || in[p] < '0' || in[p] > '9' {
			n.pos = p
			return nil, false, n.fail("invalid number exponent")
		}
		for p < len(in) && in[p] >= '0' && in[p] <= '9' {
			p++
		}
		simple = false
	}
	n.pos = p
	return in[start:p], simple, nil
}

// appendJSNumber appends f as JavaScript's Number.prototype.toString writes it; JSON.stringify writes
// null for the non-finite values.
func appendJSNumber(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return append(dst, "null"...)
	case f == 0:
		return append(dst, '0')
	case f == math.Trunc(f) && math.Abs(f) < 1<<53:
		return strconv.AppendInt(dst, int64(f), 10) // every integer double below 2^53 prints as itself
	}
	if abs := math.Abs(f); abs >= 1e-6 && abs < 1e21 {
		return strconv.AppendFloat(dst, f, 'f', -1, 64)
	}
	// Go writes at least two exponent digits ("1e-07"); JavaScript writes as few as needed.
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'e', -1, 64)
	for i := start; i < len(dst); i++ {
		if dst[i] == 'e' {
			if d := i + 2; dst[d] == '0' {
				dst = append(dst[:d], dst[d+1:]...)
			}
			break
		}
	}
	return dst
}

// parseNumber returns the value of lit, a valid JSON number (see scanNumber), without ParseFloat for
// the integers of up to 15 digits that most numbers in messages are.
func parseNumber(lit []byte, simple bool) (float64, error) {
	if digits := lit; simple && len(digits) <= 16 {
		neg := digits[0] == '-'
		if neg {
			digits = digits[1:]
		}
		if len(digits) <= 15 {
			var v int64
			for _, c := range digits {
				v = v*10 + int64(c-'0')
			}
			if neg {
				return -float64(v), nil
			}
			return float64(v), nil
		}
	}
	return strconv.ParseFloat(string(lit), 64)
}

func isRangeErr(err error) bool { return errors.Is(err, strconv.ErrRange) }
