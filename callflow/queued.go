package callflow

// markQueued notes on the call row that the menu handed the call to a queue: the reports
// count it as offered to agents, and its wait runs from o.At. A failure is logged and
// counted; the call goes on.
func (c *call) markQueued(o Offer) {
	if c.callID == 0 {
		return
	}
	ctx, cancel := c.opCtx()
	defer cancel()
	if err := c.r.cfg.Cases.MarkQueued(ctx, c.callID, o.Queue, o.At); err != nil {
		c.fail("db.mark_queued", err, "queue", o.Queue)
	}
}
