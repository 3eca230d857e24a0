/*
 * notify.js: django-notifications-hq's page callbacks, fed by pushes on the user's stream (and
 * the sends to everyone on `broadcast`) instead of polling. `{% register_notify_callbacks callbacks="fill_notification_badge,..." %}`
 * includes it; each callback gets `{unread_count, unread_list}` on load and after every change.
 * Needs live.js (window.live).
 */
(function (root) {
  "use strict";
  var script = root.document.currentScript;
  var config = JSON.parse(script.getAttribute("data-notify-config"));
  var registered = [];
  var state = { unread_count: null, unread_list: [] };
  var loading = null;

  root.notify_badge_class = config.badgeClass;
  root.notify_menu_class = config.menuClass;
  root.notify_api_url = config.apiUrl;
  root.notify_fetch_count = String(config.fetchCount);
  root.notify_unread_url = config.unreadUrl;
  root.notify_mark_all_unread_url = config.markAllUrl;
  root.notify_mark_as_read = config.markAsRead;

  function each(className, callback) {
    var elements = root.document.getElementsByClassName(className);
    for (var i = 0; i < elements.length; i++) callback(elements[i]);
  }

  function describe(item) {
    return [item.actor, item.verb, item.target, item.timestamp]
      .filter(function (part) { return part !== undefined && part !== null && part !== ""; })
      .join(" ");
  }

  function fillBadge(data) {
    each(config.badgeClass, function (badge) {
      badge.textContent = data.unread_count === null ? "" : String(data.unread_count);
      badge.removeAttribute("title");
    });
  }

  function fillList(data) {
    each(config.menuClass, function (menu) {
      while (menu.firstChild) menu.removeChild(menu.firstChild);
      (data.unread_list || []).forEach(function (item) {
        var entry = root.document.createElement("li");
        entry.textContent = describe(item);
        entry.setAttribute("data-notification", String(item.id));
        menu.appendChild(entry);
      });
    });
  }

  function register(callback) {
    if (typeof callback === "function" && registered.indexOf(callback) < 0) registered.push(callback);
  }

  function publishState() {
    registered.forEach(function (callback) {
      try {
        callback({ unread_count: state.unread_count, unread_list: state.unread_list.slice() });
      } catch (error) {
        if (root.console) root.console.error(error);
      }
    });
  }

  function csrfToken() {
    var match = root.document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function load() {
    var url = config.apiUrl + "?max=" + encodeURIComponent(config.fetchCount);
    var options = { credentials: "same-origin", headers: { Accept: "application/json" } };
    if (config.markAsRead) {
      url += "&mark_as_read=true";
      options.method = "POST";
      options.headers["X-CSRFToken"] = csrfToken();
    }
    loading = root.fetch(url, options)
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        state.unread_count = data.unread_count;
        state.unread_list = data.unread_list || [];
        publishState();
      })
      .catch(function () {
        each(config.badgeClass, function (badge) { badge.setAttribute("title", "Not up to date"); });
      })
      .then(function () { loading = null; });
    return loading;
  }

  function removeFromList(id) {
    state.unread_list = state.unread_list.filter(function (item) { return item.id !== id; });
  }

  function broadcastOf(item) {
    return item.broadcast || (item.data && item.data.broadcast) || null;
  }

  function listed(broadcast) {
    return state.unread_list.some(function (item) { return broadcastOf(item) === broadcast; });
  }

  /* Add a notification at the top, in place of its send to everyone if that stood for it. */
  function prepend(notification) {
    var broadcast = broadcastOf(notification);
    if (broadcast) {
      state.unread_list = state.unread_list.filter(function (item) {
        return !(item.id === null && broadcastOf(item) === broadcast);
      });
    }
    if (notification.id !== null && notification.id !== undefined) removeFromList(notification.id);
    state.unread_list.unshift(notification);
    state.unread_list = state.unread_list.slice(0, config.fetchCount);
  }

  function onBroadcast(event) {
    var notification = (event.data || {}).notification;
    if (event.event !== "notification.broadcast" || !notification || !notification.broadcast) return;
    if (listed(notification.broadcast)) return;
    prepend(notification);
    if (typeof state.unread_count === "number") state.unread_count += 1;
    publishState();
  }

  function onEvent(event) {
    var data = event.data || {};
    if (typeof data.unread_count === "number") state.unread_count = data.unread_count;
    switch (event.event) {
      case "notification.created":
        if (data.notification) prepend(data.notification);
        break;
      case "notification.read":
      case "notification.deleted":
        removeFromList(data.id);
        break;
      case "notification.unread":
      case "notification.read_all":
      case "notification.unread_all":
      case "notification.deleted_all":
      case "notification.restored_all":
        load();
        return;
      default:
        return;
    }
    publishState();
  }

  root.fill_notification_badge = fillBadge;
  root.fill_notification_list = fillList;
  root.register_notifier = register;

  function start() {
    config.callbacks.forEach(function (name) { register(root[name]); });
    /* From where the streams stood when the page was made (`since`), so that nothing that
     * happens while it loads is missed; what the list already has is recognised by its id. */
    var from = function (handlers, since) {
      if (typeof since === "number") handlers.since = since;
      return handlers;
    };
    if (root.live) {
      root.live.subscribe(config.stream, from({ onEvent: onEvent, onResync: load }, config.since));
      if (config.broadcastStream) {
        root.live.subscribe(config.broadcastStream,
          from({ onEvent: onBroadcast, onResync: load }, config.broadcastSince));
      }
    }
    load();
  }

  if (root.document.readyState === "loading") {
    root.document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})(window);
