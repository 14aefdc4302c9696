// The chat page: plain JS, no build step. Model output is only ever put in the page with
// textContent, never innerHTML, so a reply containing HTML shows as text (no XSS).
"use strict";

const $ = (id) => document.getElementById(id);
let conversationId = null;

function showError(text) {
  const el = $("error");
  el.textContent = text;
  el.hidden = !text;
}

function addMessage(role, text, replica) {
  const box = document.createElement("div");
  box.className = `message ${role}`;
  const body = document.createElement("div");
  body.className = "text";
  body.textContent = text;
  box.appendChild(body);
  const meta = document.createElement("div");
  meta.className = "meta";
  meta.textContent = role === "assistant" && replica ? `answered by ${replica}` : "";
  box.appendChild(meta);
  $("messages").appendChild(box);
  $("messages").scrollTop = $("messages").scrollHeight;
  return box;
}

async function loadConversations() {
  const res = await fetch("/api/conversations");
  if (!res.ok) throw new Error(`conversations: HTTP ${res.status}`);
  const list = $("conversations");
  list.replaceChildren();
  for (const c of await res.json()) {
    const li = document.createElement("li");
    li.textContent = c.title;
    li.title = `${c.message_count} messages`;
    li.dataset.id = c.id;
    if (c.id === conversationId) li.classList.add("active");
    li.addEventListener("click", () => openConversation(c.id));
    list.appendChild(li);
  }
}

async function openConversation(id) {
  const res = await fetch(`/api/conversations/${id}`);
  if (!res.ok) {
    showError(`Could not open conversation ${id} (HTTP ${res.status}).`);
    return;
  }
  const conv = await res.json();
  conversationId = conv.id;
  localStorage.setItem("conversationId", String(conv.id));
  $("messages").replaceChildren();
  for (const m of conv.messages) addMessage(m.role, m.content, m.replica);
  await loadConversations();
}

// Parse a text/event-stream body read with fetch (EventSource cannot POST).
async function* sseEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let event = "message", data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) event = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      if (data) yield { event, data: JSON.parse(data) };
    }
  }
}

// A message the server did not store is never lost: it goes back into the input box (unless the
// user already typed something new there) and its bubble says it was not sent.
function notSent(bubble, text) {
  bubble.classList.add("failed");
  bubble.querySelector(".meta").textContent = "not sent: it is back in the box below";
  if (!$("input").value) $("input").value = text;
}

async function send(text) {
  showError("");
  $("send").disabled = true;
  const question = addMessage("user", text);
  let saved = false;
  try {
    const res = await fetch("/api/chat", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ message: text, conversation_id: conversationId }),
    });
    if (!res.ok) {
      const body = await res.json().catch(() => ({}));
      if (body.conversation_id) conversationId = body.conversation_id;
      saved = Boolean(body.user_message_id);
      showError(typeof body.detail === "string" ? body.detail : `HTTP ${res.status}`);
      return;
    }
    saved = true;
    const reply = addMessage("assistant", "");
    reply.classList.add("streaming");
    const textEl = reply.querySelector(".text");
    const metaEl = reply.querySelector(".meta");
    for await (const { event, data } of sseEvents(res)) {
      if (event === "meta") {
        conversationId = data.conversation_id;
        localStorage.setItem("conversationId", String(conversationId));
        metaEl.textContent = `answered by ${data.replica}`;
        reply.dataset.replica = data.replica;
      } else if (event === "token") {
        textEl.textContent += data.text;
        $("messages").scrollTop = $("messages").scrollHeight;
      } else if (event === "error") {
        showError(data.detail);
      } else if (event === "done") {
        textEl.textContent = data.content;
      }
    }
    reply.classList.remove("streaming");
  } catch (err) {
    showError(`The chat service is not reachable: ${err.message}`);
  } finally {
    if (!saved) notSent(question, text);
    $("send").disabled = false;
    loadConversations().catch(() => {});
  }
}

$("composer").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("input").value.trim();
  if (!text) return;
  $("input").value = "";
  send(text);
});

$("input").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) {
    e.preventDefault();
    $("composer").requestSubmit();
  }
});

$("new-chat").addEventListener("click", () => {
  conversationId = null;
  localStorage.removeItem("conversationId");
  $("messages").replaceChildren();
  loadConversations().catch(() => {});
});

async function start() {
  try {
    const saved = Number(localStorage.getItem("conversationId"));
    if (saved) await openConversation(saved);
    else await loadConversations();
    $("status").textContent = "connected";
  } catch (err) {
    $("status").textContent = "chat service unreachable";
    showError(String(err.message || err));
  }
}

start();
