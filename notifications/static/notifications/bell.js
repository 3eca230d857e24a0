/*
 * bell.js: the `{% notification_bell %}` widget. The badge and the list follow the pushes on
 * the user's stream: new notifications appear, and a notification read in another tab or
 * marked read in bulk shows as read here too. A send to everyone (`notification.broadcast` on
 * `broadcast`) appears at the top and adds one to the badge; the user's own row of it
 * replaces it once the server has made one. Clicking an unread one marks it read (POST)
 * before following its link. Needs live.js (window.live) on the page.
 */
(function (root) {
  "use strict";
  var doc = root.document;

  function text(item) {
    return [item.actor, item.verb, item.target].filter(function (part) { return part; }).join(" ");
  }

  function Bell(element) {
    this.element = element;
    this.button = element.querySelector(".notification-bell-button");
    this.badge = element.querySelector(".notification-bell-badge");
    this.panel = element.querySelector(".notification-bell-panel");
    this.list = element.querySelector(".notification-bell-list");
    this.empty = element.querySelector(".notification-bell-empty");
    this.template = element.nextElementSibling;
    this.fetch = parseInt(element.getAttribute("data-fetch"), 10) || 8;
    this.token = (element.querySelector("input[name=csrfmiddlewaretoken]") || {}).value || "";
    this.count = parseInt(this.badge.textContent, 10) || 0;
    var self = this;
    this.button.addEventListener("click", function () { self.open(self.panel.hidden); });
    doc.addEventListener("click", function (click) {
      if (!self.panel.hidden && !self.element.contains(click.target)) self.open(false);
    });
    doc.addEventListener("keydown", function (key) {
      if (key.key === "Escape" && !self.panel.hidden) self.open(false);
    });
    this.list.addEventListener("click", function (click) { self.follow(click); });
    var transport = element.getAttribute("data-transport");
    /* From where the streams stood when the page was made: what happened while it loaded
     * is replayed, and what the page already shows is recognised by its id. */
    var subscribe = function (stream, since, onEvent) {
      var handlers = { onEvent: onEvent, onResync: function () { self.resync(); } };
      if (transport) handlers.transport = transport;
      if (since !== null && since !== "" && !isNaN(Number(since))) handlers.since = Number(since);
      root.live.subscribe(stream, handlers);
    };
    subscribe(element.getAttribute("data-stream"), element.getAttribute("data-since"),
      function (event) { self.onEvent(event); });
    var everyone = element.getAttribute("data-broadcast-stream");
    if (everyone) {
      subscribe(everyone, element.getAttribute("data-broadcast-since"),
        function (event) { self.onBroadcast(event); });
    }
  }

  Bell.prototype.open = function (open) {
    this.panel.hidden = !open;
    this.button.setAttribute("aria-expanded", String(open));
  };

  Bell.prototype.showCount = function (count) {
    this.count = count;
    this.badge.textContent = count > 99 ? "99+" : String(count);
    this.badge.hidden = count === 0;
    this.button.setAttribute("aria-label", count ? "Notifications (" + count + " unread)" : "Notifications");
  };

  Bell.prototype.item = function (notification) {
    var item = this.template.content.firstElementChild.cloneNode(true);
    var link = item.querySelector("a");
    var data = notification.data || {};
    var broadcast = notification.broadcast || data.broadcast;
    item.setAttribute("data-notification", notification.id === null ? "" : String(notification.id));
    if (broadcast) item.setAttribute("data-broadcast", String(broadcast));
    item.setAttribute("data-level", notification.level || "info");
    item.classList.toggle("unread", notification.unread !== false);
    link.setAttribute("href", data.url || "#");
    link.setAttribute(
      "data-mark",
      notification.id === null ? this.broadcastReadUrl(broadcast) : this.markUrl(notification.slug),
    );
    item.querySelector(".notification-bell-text").textContent = text(notification);
    var time = item.querySelector(".notification-bell-time");
    time.setAttribute("datetime", notification.timestamp || "");
    time.textContent = "just now";
    return item;
  };

  Bell.prototype.markUrl = function (slug) {
    var form = this.element.querySelector("form");
    return form.getAttribute("action").replace(/mark-all-as-read\/$/, "mark-as-read/" + slug + "/");
  };

  Bell.prototype.broadcastReadUrl = function (broadcast) {
    var url = this.element.getAttribute("data-broadcast-read-url");
    return url.replace(/\/0\/read\/$/, "/" + broadcast + "/read/");
  };

  Bell.prototype.find = function (id) {
    return this.list.querySelector('[data-notification="' + String(id) + '"]');
  };

  Bell.prototype.findBroadcast = function (broadcast) {
    return this.list.querySelector('[data-broadcast="' + String(broadcast) + '"]');
  };

  /* Show a notification: in place of what stands for the same one (its send to everyone, not
   * yet the user's own row), else at the top. */
  Bell.prototype.show = function (notification) {
    var data = notification.data || {};
    var standIn = data.broadcast ? this.findBroadcast(data.broadcast) : null;
    if (standIn && standIn.getAttribute("data-notification") === "") {
      this.list.replaceChild(this.item(notification), standIn);
    } else if (!this.find(notification.id) && !standIn) {
      this.list.insertBefore(this.item(notification), this.list.firstChild);
      while (this.list.children.length > this.fetch) this.list.removeChild(this.list.lastChild);
    }
    this.empty.hidden = this.list.children.length > 0;
  };

  Bell.prototype.onBroadcast = function (event) {
    var notification = (event.data || {}).notification;
    if (event.event !== "notification.broadcast" || !notification || !notification.broadcast) return;
    if (this.findBroadcast(notification.broadcast)) return;
    this.show(notification);
    this.showCount(this.count + 1);
  };

  Bell.prototype.onEvent = function (event) {
    var data = event.data || {};
    if (typeof data.unread_count === "number") this.showCount(data.unread_count);
    var found = data.id !== undefined ? this.find(data.id) : null;
    switch (event.event) {
      case "notification.created":
        if (data.notification) this.show(data.notification);
        break;
      case "notification.read":
        if (found) found.classList.remove("unread");
        break;
      case "notification.unread":
        if (found) found.classList.add("unread");
        break;
      case "notification.deleted":
        if (found) found.parentNode.removeChild(found);
        break;
      case "notification.read_all":
      case "notification.unread_all":
      case "notification.deleted_all":
      case "notification.restored_all":
        this.reload();
        break;
    }
    this.empty.hidden = this.list.children.length > 0;
  };

  Bell.prototype.reload = function () {
    var self = this;
    var url = this.element.getAttribute("data-list-url") + "?max=" + this.fetch;
    return root.fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) return;
        while (self.list.firstChild) self.list.removeChild(self.list.firstChild);
        data.all_list.forEach(function (notification) { self.list.appendChild(self.item(notification)); });
        self.empty.hidden = self.list.children.length > 0;
      });
  };

  /* After a gap in a stream: the list and the count again. */
  Bell.prototype.resync = function () {
    var self = this;
    var url = this.element.getAttribute("data-count-url");
    root.fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data) self.showCount(data.unread_count); });
    return this.reload();
  };

  Bell.prototype.follow = function (click) {
    var link = click.target.closest("a[data-mark]");
    if (!link) return;
    var item = link.closest(".notification-bell-item");
    var href = link.getAttribute("href");
    if (!item.classList.contains("unread")) {
      if (href === "#") click.preventDefault();
      return;
    }
    click.preventDefault();
    item.classList.remove("unread");
    var self = this;
    root.fetch(link.getAttribute("data-mark"), {
      method: "POST",
      credentials: "same-origin",
      redirect: "manual",
      headers: { "X-CSRFToken": this.token, Accept: "application/json" },
    }).then(function (response) {
      var json = response.headers && (response.headers.get("Content-Type") || "").indexOf("json") !== -1;
      return json ? response.json() : null;
    }).then(function (data) {
      if (data && data.notification) self.show(data.notification);
    }).catch(function () {}).then(function () {
      if (href !== "#") root.location.assign(href);
    });
  };

  function start() {
    var bells = doc.querySelectorAll("[data-notification-bell]");
    for (var i = 0; i < bells.length; i++) new Bell(bells[i]);
  }

  if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", start);
  else start();
})(window);
