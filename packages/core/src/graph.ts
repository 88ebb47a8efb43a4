// Service graph: start/stop order, cycles. Owned by the config work.
export {};
