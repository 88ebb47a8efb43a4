export { MemoryStore } from "./memory.js";
export {
  runStoreConformance,
  storeConformanceCases,
  type StoreConformanceCase,
  type StoreFactory,
  type StoreTestClock,
  type SubtestRunner,
} from "./conformance.js";
