"""The staff console: a small aiohttp web app for bank staff, on :8080.

Run it with `python -m bot.desk` (or `make run`, which starts it with Rasa).
Pages are server-rendered Chinese HTML (aiohttp-jinja2, one local CSS file)
for a laptop at the counter or a tablet; every form has a JSON twin under
/api/ with the same rules.

Roles (bot.bank.staff.accounts, enforced in bot.desk.access):
  agent         客服坐席  every branch's bookings and hours, read-only
  branch_staff  网点员工  own branch: bookings, check-in/no-show, dated hours,
                          notices, tickets
  admin         管理员    all of that for every branch, bank-wide notices,
                          staff accounts

Layout:
  app.py        create_app(): page modules, middlewares, templates, static
  access.py     sign-in, permissions, CSRF for every route (default deny)
  security.py   signed cookies: session, login-form nonce, flash message
  accounts.py   staff accounts, bcrypt hashes
  render.py     page rendering and error pages / JSON errors
  pages/        one module per area (auth, bookings, branches, capacity,
                staff); new areas such as escalations are added here
  templates/, static/

The rules behind the pages live in bot.bank.branch_admin (plain Python).
"""
