// Door of the tuning room: search spaces, TPE, and the tuning loop behind `autoglm tune`.
export { parseParam, defaultEngineSpace, gridPoints, randomPoint, type Param, type Point } from './search-space.js';
export { suggestTpe, type Observation } from './tpe.js';
export { tune, scoreOf, trialsToReach, METHODS, type Method, type Trial, type TrialMetrics, type Objective } from './tuner.js';
