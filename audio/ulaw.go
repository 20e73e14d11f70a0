package audio

// G.711 µ-law as specified by ITU-T G.711: the 14-bit magnitude (plus bias)
// is coded as a 3-bit segment and a 4-bit mantissa, and the byte is inverted.
const (
	ulawBias = 0x84
	ulawClip = 32635
)

// decodeTable is filled once; decoding is then one lookup.
var decodeTable = func() (t [256]int16) {
	for i := range t {
		u := ^byte(i)
		seg := (u >> 4) & 0x07
		mant := int(u & 0x0f)
		mag := ((mant << 3) + ulawBias) << seg
		mag -= ulawBias
		if u&0x80 != 0 {
			t[i] = int16(-mag)
		} else {
			t[i] = int16(mag)
		}
	}
	return t
}()

// EncodeULaw returns the µ-law byte for one linear sample.
func EncodeULaw(s int16) byte {
	v := int(s)
	sign := byte(0)
	if v < 0 {
		v = -v
		sign = 0x80
	}
	if v > ulawClip {
		v = ulawClip
	}
	v += ulawBias
	// The segment is the position of the highest set bit above bit 7.
	seg := byte(7)
	for mask := 0x4000; v&mask == 0 && seg > 0; mask >>= 1 {
		seg--
	}
	mant := byte(v>>(seg+3)) & 0x0f
	return ^(sign | seg<<4 | mant)
}

// DecodeULaw returns the linear sample for one µ-law byte.
func DecodeULaw(b byte) int16 { return decodeTable[b] }

// EncodePCMU appends the µ-law encoding of src to dst and returns the result.
func EncodePCMU(dst []byte, src []int16) []byte {
	for _, s := range src {
		dst = append(dst, EncodeULaw(s))
	}
	return dst
}

// DecodePCMU appends the linear samples of the µ-law bytes src to dst and
// returns the result.
func DecodePCMU(dst []int16, src []byte) []int16 {
	for _, b := range src {
		dst = append(dst, decodeTable[b])
	}
	return dst
}
