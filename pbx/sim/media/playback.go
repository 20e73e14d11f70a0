package media

// playback is samples being heard, one frame per tick.
type playback struct {
	samples []int16
	pos     int
	done    func(stopped bool)
	ended   bool // guarded by e.mu
}

// mixInto adds the next frame to acc and reports whether the playback has
// now been heard to its end.
func (p *playback) mixInto(acc *[FrameSamples]int32) (finished bool) {
	rest := p.samples[p.pos:]
	n := min(len(rest), FrameSamples)
	for i, v := range rest[:n] {
		acc[i] += int32(v)
	}
	p.pos += n
	return p.pos >= len(p.samples)
}
