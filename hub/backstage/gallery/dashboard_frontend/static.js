// A rendered dashboard's widgets, drawn from the state saved with the page (no kernel): the page looks
// as it will when live. What the viewer changes is written down (ChangeLog), to be replayed on the live
// kernel's widgets once the page has one (./golive).
import { put_buffers, uuid } from '@jupyter-widgets/base';

import { PageManager } from './manager';

/** The viewer's changes to widgets, per model: attribute updates (merged) and custom messages (in order). */
export class ChangeLog {
  constructor() {
    this.updates = new Map(); // model id -> serialized attributes, buffers put back in place
    this.customs = []; // {modelId, content, buffers}, e.g. a button's clicks
    this.onChange = null; // called after each change the viewer makes
  }

  record(modelId, data, buffers) {
    // Views change their models only for a person: anything before the page's first input (a widget
    // settling as it is drawn) is not the viewer's doing.
    if (navigator.userActivation && !navigator.userActivation.hasBeenActive) {
      return;
    }
    if (data.method === 'update') {
      const state = { ...data.state };
      put_buffers(state, data.buffer_paths || [], buffers || []);
      this.updates.set(modelId, { ...this.updates.get(modelId), ...state });
    } else if (data.method === 'custom') {
      this.customs.push({ modelId, content: data.content, buffers: buffers || [] });
    } else {
      return;
    }
    if (this.onChange) {
      this.onChange();
    }
  }

  /** Everything written down so far, and a clean page for what comes next. */
  take() {
    const taken = { updates: this.updates, customs: this.customs };
    this.updates = new Map();
    this.customs = [];
    return taken;
  }
}

/** Stands in for a widget's comm while there is no kernel: what the widget sends goes to the log. */
export class RecordingComm {
  constructor(modelId, log) {
    this.comm_id = modelId;
    this.target_name = 'jupyter.widget';
    this.log = log;
  }

  open() {
    return '';
  }

  send(data, callbacks, metadata, buffers) {
    this.log.record(this.comm_id, data || {}, buffers);
    const done = callbacks && callbacks.iopub && callbacks.iopub.status;
    if (done) {
      // As a kernel would say once it handled the message: the model's throttle lets the next one through.
      Promise.resolve().then(() => done({ header: { msg_type: 'status' }, parent_header: {},
        content: { execution_state: 'idle' } }));
    }
    return uuid();
  }

  close() {
    return '';
  }

  on_msg() {}

  on_close() {}
}

/** Hand a widget model over to *log*: from now on its changes are written down, not sent. */
export function recordInto(model, log) {
  model.comm = new RecordingComm(model.model_id, log);
  model._pending_msgs = 0;
  model._msg_buffer = null;
  model._msg_buffer_callbacks = null;
}

/** The manager of the widgets saved with the page (ipywidgets' embed format). */
export class StaticManager extends PageManager {
  constructor(log) {
    super();
    this.log = log;
  }

  async _get_comm_info() {
    return {};
  }

  async _create_comm(targetName, modelId) {
    return new RecordingComm(modelId, this.log);
  }

  // Every model gets a recording comm: it draws as connected (not greyed out) and its changes are kept.
  async _make_model(options, serializedState) {
    return super._make_model({ ...options, comm: options.comm || new RecordingComm(options.model_id, this.log) },
      serializedState);
  }
}
