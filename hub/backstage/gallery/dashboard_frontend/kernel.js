// A small client for one running kernel's websocket (Jupyter messaging protocol 5.3, jupyter_server's
// default websocket framing: JSON text frames, and binary frames for messages that carry buffers).
//
// It speaks only what a dashboard needs: widget comms (open, message, close), comm info, and the
// iopub messages an Output widget captures. The gallery's proxy refuses every other message type.

const PROTOCOL_VERSION = '5.3';
const CONTROL_TARGET = 'jupyter.widget.control';

export function uuid() {
  return crypto.randomUUID ? crypto.randomUUID().replace(/-/g, '')
    : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

// jupyter_server's binary framing: uint32 count, uint32 offsets, the JSON message, then the buffers.
export function serialize(msg) {
  const buffers = msg.buffers || [];
  if (!buffers.length) {
    return JSON.stringify({ ...msg, buffers: [] });
  }
  const json = new TextEncoder().encode(JSON.stringify({ ...msg, buffers: [] }));
  const parts = [json, ...buffers.map((b) => (b instanceof ArrayBuffer ? new Uint8Array(b)
    : new Uint8Array(b.buffer, b.byteOffset, b.byteLength)))];
  const header = new DataView(new ArrayBuffer(4 * (parts.length + 1)));
  header.setUint32(0, parts.length);
  let offset = header.byteLength;
  parts.forEach((part, i) => {
    header.setUint32(4 * (i + 1), offset);
    offset += part.byteLength;
  });
  const out = new Uint8Array(offset);
  out.set(new Uint8Array(header.buffer), 0);
  let at = header.byteLength;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out.buffer;
}

export function deserialize(data) {
  if (typeof data === 'string') {
    return JSON.parse(data);
  }
  const view = new DataView(data);
  const count = view.getUint32(0);
  const offsets = [];
  for (let i = 1; i <= count; i++) {
    offsets.push(view.getUint32(4 * i));
  }
  offsets.push(data.byteLength);
  const msg = JSON.parse(new TextDecoder().decode(new Uint8Array(data, offsets[0], offsets[1] - offsets[0])));
  msg.buffers = [];
  for (let i = 1; i < count; i++) {
    msg.buffers.push(new DataView(data, offsets[i], offsets[i + 1] - offsets[i]));
  }
  return msg;
}

// The comm interface ipywidgets' managers expect (IClassicComm).
export class Comm {
  constructor(kernel, commId, targetName) {
    this.kernel = kernel;
    this.comm_id = commId;
    this.target_name = targetName;
    this._onMsg = null;
    this._onClose = null;
    this._pending = []; // messages that came before a handler was set
    this.requested = false; // a request_states already sent for this comm by the page's inline script
  }

  open(data, callbacks, metadata, buffers) {
    return this.kernel.send('comm_open', { comm_id: this.comm_id, target_name: this.target_name, data },
      { callbacks, metadata, buffers });
  }

  send(data, callbacks, metadata, buffers) {
    if (this.requested && data && data.method === 'request_states') {
      this.requested = false;
      return '';
    }
    return this.kernel.send('comm_msg', { comm_id: this.comm_id, data }, { callbacks, metadata, buffers });
  }

  close(data, callbacks, metadata, buffers) {
    this.kernel.comms.delete(this.comm_id);
    return this.kernel.send('comm_close', { comm_id: this.comm_id, data: data || {} },
      { callbacks, metadata, buffers });
  }

  on_msg(callback) {
    this._onMsg = callback;
    const pending = this._pending.splice(0);
    if (pending.length) {
      Promise.resolve().then(() => pending.forEach((msg) => callback(msg)));
    }
  }

  _receive(msg) {
    if (this._onMsg) {
      this._onMsg(msg);
    } else {
      this._pending.push(msg);
    }
  }

  on_close(callback) {
    this._onClose = callback;
  }
}

export class KernelClient {
  constructor(url) {
    this.url = url;
    this.session = uuid();
    this.comms = new Map();
    this.onCommOpen = null; // (comm, msg) => void, for comms the kernel opens
    this._callbacks = new Map(); // msg_id -> {shell: {reply}, iopub: {status}}
    this._replies = new Map(); // msg_id -> resolve
    this._hooks = new Map(); // parent msg_id -> Set of iopub hooks (Output widgets)
    this._queue = [];
    this.ws = null;
    this.earlyControl = null;
  }

  // Takes over the socket the page's inline script opened before this code loaded (see the Voilà
  // template), with the widget-state request it already sent, and replays what it has received.
  adopt(early) {
    return new Promise((resolve, reject) => {
      const ws = early.socket;
      if (!ws || ws.readyState > WebSocket.OPEN) {
        reject(new Error('the early kernel connection closed'));
        return;
      }
      this.session = early.session;
      const control = new Comm(this, early.controlId, CONTROL_TARGET);
      control.requested = true;
      this.comms.set(control.comm_id, control);
      this.earlyControl = control;
      const opened = () => {
        this.ws = ws;
        this._queue.splice(0).forEach((frame) => ws.send(frame));
        resolve(this);
      };
      ws.onclose = (event) => this._closed(event);
      ws.onmessage = (event) => this._dispatch(deserialize(event.data));
      early.messages.splice(0).forEach((data) => this._dispatch(deserialize(data)));
      if (ws.readyState === WebSocket.OPEN) {
        opened();
      } else {
        ws.addEventListener('open', opened);
        ws.addEventListener('error', () => {
          this.comms.clear();
          this.earlyControl = null;
          reject(new Error('the dashboard could not connect to its kernel'));
        });
      }
    });
  }

  /** The control comm the inline script opened, once, for the manager's first state request. */
  takeEarlyControl(targetName) {
    const control = targetName === CONTROL_TARGET ? this.earlyControl : null;
    this.earlyControl = null;
    return control;
  }

  connect() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${this.url}?session_id=${this.session}`);
      ws.binaryType = 'arraybuffer';
      ws.onopen = () => {
        this.ws = ws;
        this._queue.splice(0).forEach((frame) => ws.send(frame));
        resolve(this);
      };
      ws.onerror = () => reject(new Error('the dashboard could not connect to its kernel'));
      ws.onclose = (event) => this._closed(event);
      ws.onmessage = (event) => this._dispatch(deserialize(event.data));
    });
  }

  send(msgType, content, { callbacks, metadata, buffers } = {}) {
    const msgId = uuid();
    const msg = {
      header: { msg_id: msgId, msg_type: msgType, session: this.session, username: '', date: new Date().toISOString(),
        version: PROTOCOL_VERSION },
      parent_header: {}, metadata: metadata || {}, content, channel: 'shell', buffers: buffers || [],
    };
    if (callbacks) {
      this._callbacks.set(msgId, callbacks);
    }
    const frame = serialize(msg);
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(frame);
    } else {
      this._queue.push(frame);
    }
    return msgId;
  }

  request(msgType, content) {
    return new Promise((resolve) => {
      const msgId = this.send(msgType, content);
      this._replies.set(msgId, resolve);
    });
  }

  addIopubHook(parentId, hook) {
    if (!this._hooks.has(parentId)) {
      this._hooks.set(parentId, new Set());
    }
    this._hooks.get(parentId).add(hook);
  }

  removeIopubHook(parentId, hook) {
    const hooks = this._hooks.get(parentId);
    if (hooks) {
      hooks.delete(hook);
      if (!hooks.size) {
        this._hooks.delete(parentId);
      }
    }
  }

  _dispatch(msg) {
    const parentId = msg.parent_header && msg.parent_header.msg_id;
    const type = msg.header.msg_type;
    const callbacks = parentId && this._callbacks.get(parentId);
    if (msg.channel === 'shell') {
      const resolve = this._replies.get(parentId);
      if (resolve) {
        this._replies.delete(parentId);
        resolve(msg);
      }
      if (callbacks && callbacks.shell && callbacks.shell.reply) {
        callbacks.shell.reply(msg);
      }
      return;
    }
    if (msg.channel !== 'iopub') {
      return;
    }
    const hooks = parentId && this._hooks.get(parentId);
    if (hooks) {
      hooks.forEach((hook) => hook(msg));
    }
    if (type === 'comm_open') {
      const comm = new Comm(this, msg.content.comm_id, msg.content.target_name);
      this.comms.set(comm.comm_id, comm);
      if (this.onCommOpen) {
        this.onCommOpen(comm, msg);
      }
    } else if (type === 'comm_msg') {
      const comm = this.comms.get(msg.content.comm_id);
      if (comm) {
        comm._receive(msg);
      }
    } else if (type === 'comm_close') {
      const comm = this.comms.get(msg.content.comm_id);
      this.comms.delete(msg.content.comm_id);
      if (comm && comm._onClose) {
        comm._onClose(msg);
      }
    } else if (type === 'status' && callbacks) {
      if (callbacks.iopub && callbacks.iopub.status) {
        callbacks.iopub.status(msg);
      }
      if (msg.content.execution_state === 'idle') {
        this._callbacks.delete(parentId);
      }
    }
  }

  _closed(event) {
    this.ws = null;
    if (this.onClose) {
      this.onClose(event); // it may take the comms away first: a rendered page keeps its widgets drawn
    }
    for (const comm of this.comms.values()) {
      if (comm._onClose) {
        comm._onClose({ content: { comm_id: comm.comm_id, data: {} } });
      }
    }
    this.comms.clear();
  }
}
