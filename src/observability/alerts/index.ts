// Door of the alerts room: rules over the gateway's own numbers and webhook delivery.
export { evaluateAlerts, type AlertEvent, type AlertState, type ModelSnapshot } from './alert-rules.js';
export { WebhookNotifier, type Alert } from './webhook-notifier.js';
