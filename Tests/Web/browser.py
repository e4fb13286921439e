#!/usr/bin/env python3
"""Drives the node's real pages in headless Chromium (Debian's chromium and chromium-driver, through Selenium) and
prints what it saw as one JSON object; Tests/SynGatewayTests/BrowserTests.swift checks it.

    browser.py --base http://127.0.0.1:PORT --owner-key PATH --shots DIR

Selectors are the pages' data-testid attributes. Screenshots at phone and desktop widths go to --shots. Accessibility
is checked with axe-core (the axe-selenium-python package ships it)."""

import argparse
import json
import os
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.common.exceptions import (ElementClickInterceptedException, NoSuchElementException, StaleElementReferenceException,
                                        TimeoutException)
from selenium.webdriver.support.ui import Select, WebDriverWait

PHONE = (390, 844)
DESKTOP = (1280, 900)


def driver():
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"):
        options.add_argument(flag)
    options.binary_location = "/usr/bin/chromium"
    options.set_capability("goog:loggingPrefs", {"browser": "SEVERE"})
    # Debian's driver: nothing is downloaded.
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def testid(browser, name):
    return browser.find_element(By.CSS_SELECTOR, f'[data-testid="{name}"]')


def wait(browser, condition, seconds=60):
    # Lists the pages refresh are drawn anew: an element read a moment ago may be gone, and is looked up again.
    try:
        return WebDriverWait(browser, seconds, poll_frequency=0.05,
                             ignored_exceptions=(StaleElementReferenceException, NoSuchElementException,
                                                 ElementClickInterceptedException)).until(lambda b: condition(b))
    except TimeoutException:
        # What the page showed and said, so a failure names its cause.
        view = browser.execute_script("return (document.querySelector('main') || document.body).innerText.slice(0, 1500)")
        console = [e["message"] for e in browser.get_log("browser")]
        raise AssertionError(f"waited {seconds} s at {browser.current_url}; the page shows: {view!r}; console: {console}")


def click(browser, name):
    """Clicks the element with data-testid `name` once it is there, looking it up again if a refresh redrew it."""
    def attempt(b):
        b.find_element(By.CSS_SELECTOR, f'[data-testid="{name}"]').click()
        return True
    wait(browser, attempt)


def read(browser, name, condition=lambda text: True):
    """The text of the element with data-testid `name`, once it meets `condition` (read inside the wait)."""
    def attempt(b):
        text = b.find_element(By.CSS_SELECTOR, f'[data-testid="{name}"]').text
        return text if condition(text) else None
    return wait(browser, attempt)


def open_page(browser, url):
    browser.get(url)
    wait(browser, lambda b: b.execute_script("return document.body.dataset.ready || null"))
    return int(browser.execute_script("return Number(document.body.dataset.ready)"))


def shots(browser, directory, name):
    for label, (w, h) in (("phone", PHONE), ("desktop", DESKTOP)):
        browser.set_window_size(w, h)
        time.sleep(0.2)
        browser.save_screenshot(os.path.join(directory, f"{name}-{label}.png"))
    browser.set_window_size(*DESKTOP)


def accessibility(browser):
    """Serious and critical axe-core violations on the page as it is, by rule id."""
    try:
        from axe_selenium_python import Axe
    except ImportError:
        return {"skipped": "axe-selenium-python is not installed"}
    axe = Axe(browser)
    axe.inject()
    results = axe.run()
    return sorted({f'{v["id"]}: {", ".join(str(n.get("target")) for n in v.get("nodes", []))}'
                   for v in results["violations"] if v.get("impact") in ("serious", "critical")})


def transfer(browser, base):
    """Bytes the page and everything it loaded took, and any request that left the node."""
    entries = browser.execute_script(
        "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
        ".map(e => [e.name, e.transferSize || e.encodedBodySize || 0])")
    return sum(size for _, size in entries), [name for name, _ in entries if not name.startswith(base)]


TAMPER = """
const done = arguments[arguments.length - 1];
(async () => {
  const sign = await import("/assets/sign.js");
  const keys = await import("/assets/identity.js");
  const me = (await keys.create("tamper-me")).identity;
  const other = (await keys.create("tamper-other")).identity;
  const url = location.origin + "/v1/apps/hello/echo";
  const body = new TextEncoder().encode('{"message":"mine"}');
  const send = async (headers, bytes, target = url) => {
    const r = await fetch(target, { method: "POST", headers: { ...headers, "Content-Type": "application/json" }, body: bytes });
    const text = await r.text();
    let code = null;
    try { code = JSON.parse(text).error?.code ?? null; } catch {}
    return [r.status, code];
  };
  const signed = await send(await sign.signatureHeaders(me, "POST", url, body), body);
  // The body changed after it was signed.
  const changed = await send(await sign.signatureHeaders(me, "POST", url, body), new TextEncoder().encode('{"message":"theirs"}'));
  // The signature of one key presented as another's.
  const swapped = await sign.signatureHeaders(me, "POST", url, body);
  swapped["Signature-Input"] = swapped["Signature-Input"].replace(me.keyid, other.keyid);
  // Sent to another app than the one signed for.
  const moved = await send(await sign.signatureHeaders(me, "POST", url, body), body, location.origin + "/v1/apps/hello/whoami");
  // A person's key on the owner's route.
  const adminURL = location.origin + "/v1/admin/apps/hello/disable";
  const admin = await send(await sign.signatureHeaders(me, "POST", adminURL, null), null, adminURL);
  done({ signed, changed, swapped: await send(swapped, body), moved, admin, keyid: me.keyid });
})().catch((e) => done({ error: String(e) }));
"""


def search_and_open(browser, words, hit, ready):
    """Searches the Find page for `words`, opens the hit with test id `hit`, and waits for `ready` on its page."""
    wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, '[data-testid="search-q"]'))
    testid(browser, "search-q").send_keys(words)
    click(browser, "search-go")
    click(browser, hit)
    wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, f'[data-testid="{ready}"]'))


def review_both(order, sides):
    """Each (browser, words) in `sides` reviews the completed order whose test ids start with `order`."""
    for browser, words in sides:
        wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, f'[data-testid="{order}-review"]'))
        testid(browser, f"{order}-review-text").send_keys(words)
        click(browser, f"{order}-review")
        wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, f'[data-testid="{order}-reviewed"]'))


def published(browser, page, order):
    """The review of `order` as `page` shows it, and whether it is marked verified."""
    browser.get(page)
    wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, f'[data-testid="review-{order}"]'))
    return testid(browser, f"review-{order}").text, bool(browser.find_elements(By.CSS_SELECTOR, f'[data-testid="review-{order}-verified"]'))


def use_key(browser, args):
    """Brings the provider's key into a fresh browser by its recovery phrase, as on another device."""
    open_page(browser, args.base + "/#/key")
    testid(browser, "me-phrase").send_keys(args.provider_phrase)
    click(browser, "me-restore")
    wait(browser, lambda b: "Your key: " in testid(b, "me-state").text)


def tab_to(browser, name, limit=60):
    """Moves the focus with the Tab key alone until it is on the element with data-testid `name`."""
    for _ in range(limit):
        if browser.execute_script("return document.activeElement && document.activeElement.dataset.testid") == name:
            return
        browser.switch_to.active_element.send_keys(Keys.TAB)
    raise AssertionError(f"Tab never reached {name}")


def keyboard(args):
    """A person with a keyboard alone, at phone width: makes a key, searches, and opens a Space."""
    out = {}
    browser = driver()
    try:
        browser.set_window_size(*PHONE)
        open_page(browser, args.base + "/")
        tab_to(browser, "me-create")
        browser.switch_to.active_element.send_keys(Keys.ENTER)
        out["phrase_shown"] = read(browser, "me-recovery-phrase", lambda t: t.startswith("SYN1-")) is not None
        tab_to(browser, "search-q")
        browser.switch_to.active_element.send_keys("leaks", Keys.ENTER)
        wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, f'[data-testid="space-{args.space}"]'))
        tab_to(browser, f"space-{args.space}")
        browser.switch_to.active_element.send_keys(Keys.ENTER)
        out["space"] = read(browser, "space-name", lambda t: t != "")
        # Every control of the Space's page has a visible focus and a name a screen reader reads.
        out["unnamed"] = browser.execute_script("""
            return [...document.querySelectorAll('button, input, select, a[href], textarea')]
              .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())
              .map(e => e.outerHTML.slice(0, 80));""")
    finally:
        browser.quit()
    return out


def state_of(browser, role):
    """The first order's id and state in the orders view of `role`."""
    states = browser.find_elements(By.CSS_SELECTOR, f'[data-testid="orders-{role}"] [data-testid$="-state"]')
    if not states:
        return None, None
    return states[0].get_attribute("data-testid")[len("order-"):-len("-state")], states[0].text


def booking(customer, args):
    """A customer finds the Space, books a slot after seeing what cancelling costs; the provider, in a browser of
    their own, confirms it; the customer sees the confirmation."""
    out = {}
    search_and_open(customer, "leaks", f"space-{args.space}", f"item-{args.item}-book")
    out["space_axe"] = accessibility(customer)
    out["policy"] = testid(customer, "space-policy").get_attribute("textContent")
    click(customer, f"item-{args.item}-book")
    wait(customer, lambda b: b.find_elements(By.CSS_SELECTOR, '[data-testid^="slot-"]'))
    slot = customer.find_elements(By.CSS_SELECTOR, '[data-testid^="slot-"]')[0]
    out["slot"] = slot.get_attribute("aria-label")
    slot.click()
    wait(customer, lambda b: b.find_elements(By.CSS_SELECTOR, '[data-testid="cancel-preview"]'))
    out["preview"] = testid(customer, "cancel-preview").text
    shots(customer, args.shots, "booking")
    click(customer, "booking-confirm")
    wait(customer, lambda b: state_of(b, "consumer")[1])
    out["order"], out["customer_before"] = state_of(customer, "consumer")

    provider = driver()
    try:
        provider.set_window_size(*PHONE)
        use_key(provider, args)
        out["provider_key"] = testid(provider, "me-state").text
        click(provider, "nav-provider")
        wait(provider, lambda b: b.find_elements(By.CSS_SELECTOR, f'[data-testid="order-{out["order"]}-confirm"]'))
        out["provider_axe"] = accessibility(provider)
        click(provider, f'order-{out["order"]}-confirm')
        wait(provider, lambda b: testid(b, f'order-{out["order"]}-state').text == "confirmed")
        shots(provider, args.shots, "provider")
        # The customer's page follows the order.
        wait(customer, lambda b: state_of(b, "consumer")[1] == "confirmed")
        out["customer_after"] = state_of(customer, "consumer")[1]

        # The work is done; both review; the Space's page shows the customer's review, verified in the browser.
        order = out["order"]
        for step, state in (("start", "in_progress"), ("complete", "completed")):
            wait(provider, lambda b: b.find_elements(By.CSS_SELECTOR, f'[data-testid="order-{order}-{step}"]'))
            click(provider, f"order-{order}-{step}")
            wait(provider, lambda b: testid(b, f"order-{order}-state").text == state)
        review_both(f"order-{order}", ((customer, "Fixed in twenty minutes."), (provider, "Clear instructions.")))

        # The provider runs the Space from its page: a new service, Saturday's hours, a day closed.
        provider.get(args.base + f"/#/space/{args.space}")
        wait(provider, lambda b: b.find_elements(By.CSS_SELECTOR, '[data-testid="space-manage-link"]'))
        click(provider, "space-manage-link")
        wait(provider, lambda b: b.find_elements(By.CSS_SELECTOR, '[data-testid="item-title"]'))
        out["manage_axe"] = accessibility(provider)
        testid(provider, "item-title").send_keys("Boiler check")
        testid(provider, "item-price").send_keys("60.00")
        click(provider, "item-save")
        wait(provider, lambda b: testid(b, "item-result").text.startswith(("Added", "Not saved")))
        out["item_result"] = testid(provider, "item-result").text
        for name, value in (("hours-sat-start", "10:00"), ("hours-sat-end", "14:00")):
            testid(provider, name).clear()
            testid(provider, name).send_keys(value)
        provider.execute_script("arguments[0].value = '2030-01-01'", testid(provider, "exception-date"))
        click(provider, "exception-add")
        click(provider, "hours-save")
        wait(provider, lambda b: testid(b, "hours-result").text in ("Saved.",) or testid(b, "hours-result").text.startswith("Not saved"))
        out["hours_result"] = testid(provider, "hours-result").text
        shots(provider, args.shots, "manage-space")

        # A job: the customer asks for a quote, the provider quotes it, the customer accepts: a confirmed order.
        customer.get(args.base + f"/#/space/{args.space}")
        wait(customer, lambda b: b.find_elements(By.CSS_SELECTOR, '[data-testid="job-boiler-what"]'))
        testid(customer, "job-boiler-what").send_keys("The boiler makes a noise")
        click(customer, "job-boiler-ask")
        wait(customer, lambda b: b.find_elements(By.CSS_SELECTOR, '[data-testid="jobs-consumer"] [data-testid^="job-"]'))
        job = customer.find_elements(By.CSS_SELECTOR, '[data-testid="jobs-consumer"] [data-testid^="job-"]')[0].get_attribute("data-testid")[len("job-"):]
        provider.get(args.base + "/#/provider")
        wait(provider, lambda b: b.find_elements(By.CSS_SELECTOR, f'[data-testid="job-{job}-amount"]'))
        testid(provider, f"job-{job}-amount").send_keys("120.00")
        testid(provider, f"job-{job}-currency").send_keys("EUR")
        click(provider, f"job-{job}-quote")
        wait(provider, lambda b: "Quote: 120.00 EUR, offered" in testid(b, f"job-{job}").text)
        customer.get(args.base + "/#/")
        customer.get(args.base + "/#/orders")
        wait(customer, lambda b: b.find_elements(By.CSS_SELECTOR, '[data-testid^="quote-"][data-testid$="-accept"]'))
        out["quote"] = customer.find_elements(By.CSS_SELECTOR, f'[data-testid="job-{job}"]')[0].text
        customer.find_elements(By.CSS_SELECTOR, '[data-testid^="quote-"][data-testid$="-accept"]')[0].click()
        wait(customer, lambda b: "accepted" in testid(b, f"job-{job}").text)
        out["job_after"] = testid(customer, f"job-{job}").text
    finally:
        provider.quit()
    out["review"], out["verified"] = published(customer, args.base + f"/#/space/{args.space}", order)
    return out


def food(customer, args):
    """A customer finds a product, quotes two for pickup (the quote holds them, counting down), and places the
    order; the store's manager, in a browser of their own, accepts it; the customer sees it accepted."""
    out = {}
    customer.get(args.base + "/#/")
    search_and_open(customer, "rye", f"store-{args.store}", f"qty-{args.product}")
    out["store_axe"] = accessibility(customer)
    out["policy"] = testid(customer, "store-policy").get_attribute("textContent")
    quantity = testid(customer, f"qty-{args.product}")
    quantity.clear()
    quantity.send_keys("2")
    click(customer, "pickup-when")  # blurs the quantity: its change is taken
    click(customer, "quote")
    def quoted(b):
        alerts = " ".join(e.text for e in b.find_elements(By.CSS_SELECTOR, '[data-testid="view"] [role="alert"]')).strip()
        return b.find_elements(By.CSS_SELECTOR, '[data-testid="quote-total"]') or (alerts and "error: " + alerts)
    outcome = wait(customer, quoted)
    if isinstance(outcome, str):
        raise AssertionError(f"the quote was refused: {outcome}")
    out["total"] = testid(customer, "quote-total").text
    out["countdown"] = testid(customer, "hold-countdown").text
    shots(customer, args.shots, "quote")
    click(customer, "place")
    wait(customer, lambda b: b.find_elements(By.CSS_SELECTOR, '[data-testid="food-orders-customer"] [data-testid$="-state"]'))
    state = customer.find_elements(By.CSS_SELECTOR, '[data-testid="food-orders-customer"] [data-testid$="-state"]')[0]
    out["order"] = state.get_attribute("data-testid")[len("food-order-"):-len("-state")]
    out["customer_before"] = state.text

    # The same two loaves by delivery, to where the browser says the customer is (set here, so Chromium asks no
    # network location service).
    customer.execute_cdp_cmd("Browser.grantPermissions", {"origin": args.base, "permissions": ["geolocation"]})
    customer.execute_cdp_cmd("Emulation.setGeolocationOverride", {"latitude": 45.757, "longitude": 4.832, "accuracy": 10})
    customer.get(args.base + f"/#/store/{args.store}")
    wait(customer, lambda b: b.find_elements(By.CSS_SELECTOR, f'[data-testid="qty-{args.product}"]'))
    quantity = testid(customer, f"qty-{args.product}")
    quantity.clear()
    quantity.send_keys("2")
    Select(testid(customer, "fulfilment")).select_by_value("delivery")
    testid(customer, "delivery-address").send_keys("1 place Bellecour")
    testid(customer, "delivery-postcode").send_keys("69002")
    click(customer, "quote")
    out["delivery_total"] = read(customer, "quote-total", lambda t: t != "")
    click(customer, "place")
    def placed_by_delivery(b):
        states = [e for e in b.find_elements(By.CSS_SELECTOR, '[data-testid="food-orders-customer"] [data-testid$="-state"]')
                  if e.get_attribute("data-testid") != f'food-order-{out["order"]}-state']
        return states[0].text if states else None
    out["delivery_state"] = wait(customer, placed_by_delivery)

    manager = driver()
    try:
        manager.set_window_size(*PHONE)
        use_key(manager, args)
        manager.get(args.base + f"/#/store/{args.store}")
        wait(manager, lambda b: b.find_elements(By.CSS_SELECTOR, '[data-testid="store-orders-link"]'))
        click(manager, "store-orders-link")
        wait(manager, lambda b: b.find_elements(By.CSS_SELECTOR, f'[data-testid="food-order-{out["order"]}-accept"]'))
        out["manager_axe"] = accessibility(manager)
        click(manager, f'food-order-{out["order"]}-accept')
        wait(manager, lambda b: testid(b, f'food-order-{out["order"]}-state').text == "accepted")
        shots(manager, args.shots, "store-orders")
        # The manager restocks from the store's page.
        manager.get(args.base + f"/#/store/{args.store}/manage")
        wait(manager, lambda b: b.find_elements(By.CSS_SELECTOR, f'[data-testid="stock-{args.product}"]'))
        out["manage_axe"] = accessibility(manager)
        testid(manager, f"stock-{args.product}").send_keys("25")
        click(manager, f"stock-{args.product}-set")
        wait(manager, lambda b: "25 in stock" in testid(b, "products").text)
        out["stock"] = testid(manager, "products").text

        wait(customer, lambda b: testid(b, f'food-order-{out["order"]}-state').text == "accepted")
        out["customer_after"] = testid(customer, f'food-order-{out["order"]}-state').text
        # The order's thread, which Messaging opened on it, shows its steps.
        click(customer, f'food-order-{out["order"]}-chat')
        wait(customer, lambda b: "now accepted" in testid(b, "thread").text)
        out["thread"] = testid(customer, "thread").text

        # The store prepares it, the customer collects it, it completes; both review; the store's page shows the
        # customer's review, verified in the browser.
        order = out["order"]
        manager.get(args.base + f"/#/store/{args.store}/orders")
        for step, state in (("prepare", "preparing"), ("ready", "ready"), ("pick_up", "picked_up"), ("complete", "completed")):
            wait(manager, lambda b: b.find_elements(By.CSS_SELECTOR, f'[data-testid="food-order-{order}-{step}"]'))
            click(manager, f"food-order-{order}-{step}")
            wait(manager, lambda b: testid(b, f"food-order-{order}-state").text == state)
        customer.get(args.base + "/#/orders")
        review_both(f"food-order-{order}", ((customer, "Still warm."), (manager, "Collected on time.")))
    finally:
        manager.quit()
    out["review"], out["verified"] = published(customer, args.base + f"/#/store/{args.store}", order)
    return out


def chat(customer, args):
    """The customer starts a direct chat with the provider and writes; the provider's page, open on its chats,
    shows the message as it arrives (through the stream, with no reload), and the reply arrives the same way."""
    out = {}
    provider = driver()
    try:
        provider.set_window_size(*PHONE)
        use_key(provider, args)
        click(provider, "nav-chat")
        wait(provider, lambda b: testid(b, "chat-status").get_attribute("data-live") == "1")

        customer.get(args.base + "/#/chat")
        wait(customer, lambda b: testid(b, "chat-status").get_attribute("data-live") == "1")
        testid(customer, "chat-with").send_keys(args.provider_keyid)
        click(customer, "chat-start")
        wait(customer, lambda b: "#/chat/d." in b.current_url and b.find_element(By.CSS_SELECTOR, '[data-testid="chat-text"]').is_displayed())
        conversation = customer.current_url.split("#/chat/")[1]
        out["conversation"] = conversation
        wait(customer, lambda b: testid(b, "chat-status").get_attribute("data-live") == "1")
        testid(customer, "chat-text").send_keys("Is there rye today?")
        click(customer, "chat-send")

        # Live on the provider's page, which was open before the chat existed.
        wait(provider, lambda b: b.find_elements(By.CSS_SELECTOR, '[data-testid^="chat-last-d."]') and
             b.find_elements(By.CSS_SELECTOR, '[data-testid^="chat-last-d."]')[0].text.endswith("Is there rye today?"))
        out["provider_saw"] = provider.find_elements(By.CSS_SELECTOR, '[data-testid^="chat-last-d."]')[0].text
        provider.find_elements(By.CSS_SELECTOR, '[data-testid^="chat-d."]')[0].click()
        wait(provider, lambda b: "Is there rye today?" in testid(b, "thread").text)
        wait(provider, lambda b: testid(b, "chat-status").get_attribute("data-live") == "1")
        out["chat_axe"] = accessibility(provider)
        testid(provider, "chat-text").send_keys("Two loaves left at noon")
        click(provider, "chat-send")
        wait(customer, lambda b: "Two loaves left at noon" in testid(b, "thread").text)
        out["customer_saw"] = testid(customer, "thread").text
        shots(provider, args.shots, "chat")
    finally:
        provider.quit()
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--owner-key", required=True)
    parser.add_argument("--shots", required=True)
    parser.add_argument("--space", help="a HomeServices Space with a bookable item, for the booking run")
    parser.add_argument("--item")
    parser.add_argument("--provider-phrase", help="the recovery phrase of a manager of --space and --store")
    parser.add_argument("--store", help="a FoodMesh store with a product, for the food order run")
    parser.add_argument("--product")
    parser.add_argument("--provider-keyid", help="the key id of --provider-phrase, for the chat run")
    args = parser.parse_args()
    os.makedirs(args.shots, exist_ok=True)
    out = {}
    browser = driver()
    try:
        browser.set_window_size(*DESKTOP)
        # The first page: its size, where its files come from, how soon it is usable.
        out["index_ready_ms"] = open_page(browser, args.base + "/")
        out["index_bytes"], out["index_foreign"] = transfer(browser, args.base)
        out["index_axe"] = accessibility(browser)
        # A person makes a key: the recovery phrase is shown once.
        click(browser, "me-create")
        wait(browser, lambda b: testid(b, "me-recovery-phrase").text.startswith("SYN1-"))
        out["person_state"] = testid(browser, "me-state").text
        shots(browser, args.shots, "index")

        if args.space:
            out["booking"] = booking(browser, args)
        if args.store:
            out["food"] = food(browser, args)
        if args.provider_keyid:
            out["chat"] = chat(browser, args)
        if args.space:
            out["keyboard"] = keyboard(args)

        # Signed requests from the browser, and tampered ones.
        browser.set_script_timeout(30)
        out["tamper"] = browser.execute_async_script(TAMPER)

        # The owner imports the node's key file and disables an app.
        out["admin_ready_ms"] = open_page(browser, args.base + "/admin")
        out["admin_axe_without_key"] = accessibility(browser)
        testid(browser, "owner-key-file").send_keys(os.path.abspath(args.owner_key))
        click(browser, "owner-key-import")
        wait(browser, lambda b: "Signed in" in testid(b, "owner-key-state").text or testid(b, "owner-key-error").text)
        out["owner_state"] = testid(browser, "owner-key-state").text
        out["owner_error"] = testid(browser, "owner-key-error").text
        wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, '[data-testid="app-hello-state"]'))
        out["hello_before"] = testid(browser, "app-hello-state").text
        click(browser, "app-hello-disable")
        out["hello_after"] = read(browser, "app-hello-state", lambda t: t.startswith("disabled")) if not testid(browser, "apps-error").text else testid(browser, "apps-error").text
        out["apps_error"] = testid(browser, "apps-error").text
        click(browser, "audit-refresh")
        wait(browser, lambda b: len(b.find_elements(By.CSS_SELECTOR, '[data-testid="audit"] li')) > 0)
        out["audit_first"] = browser.find_elements(By.CSS_SELECTOR, '[data-testid="audit"] li')[0].text
        click(browser, "audit-verify")
        wait(browser, lambda b: testid(b, "audit-result").text not in ("", "Verifying…"))
        out["audit_verify"] = testid(browser, "audit-result").text
        wait(browser, lambda b: testid(b, "backup-state").text)
        out["backup_state"] = testid(browser, "backup-state").text
        out["admin_axe"] = accessibility(browser)
        shots(browser, args.shots, "admin")
        # The top of the owner's page, as README.md shows it.
        browser.set_window_size(1280, 760)
        browser.execute_script("window.scrollTo(0, 0)")
        time.sleep(0.2)
        browser.save_screenshot(os.path.join(args.shots, "readme-admin.png"))
        browser.set_window_size(*DESKTOP)
        # A reload finds the key in this browser, and is usable as soon.
        out["admin_reload_ready_ms"] = open_page(browser, args.base + "/admin")
        out["owner_state_after_reload"] = testid(browser, "owner-key-state").text
        # Errors in the console, past the failed loads the tamper run makes on purpose: a policy violation or an
        # exception in the pages' scripts shows here.
        out["console"] = [e["message"] for e in browser.get_log("browser")
                          if e.get("level") == "SEVERE" and "Failed to load resource" not in e["message"]]
    finally:
        browser.quit()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
