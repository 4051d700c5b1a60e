"""Writes the company portal's benchmark data as import CSV files: COMPANIES companies
(with umlauts in names and streets, so `q` has something to fold) and CONTRACTS
contracts spread over them in every state, plus codes.csv with one customer-code for
each of the first CODES contracts (contract number, stored code).

    python3 bench/contract_data.py DIR COMPANIES CONTRACTS CODES
"""
import csv
import os
import random
import sys

out, companies, contracts, codes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
random.seed(8)
NAMES = ["Müller", "Schmidt", "Schäfer", "Krüger", "Weber", "Becker", "Hoffmann", "Wolf",
         "Schröder", "Neumann", "Braun", "Zimmermann"]
KINDS = ["Logistik GmbH", "Bau AG", "Stadtwerke", "Klinikum gGmbH", "Software GmbH", "Handel KG"]
STREETS = ["Königsplatz", "Ständeplatz", "Friedrich-Ebert-Straße", "Wilhelmshöher Allee",
           "Leipziger Straße", "Holländische Straße", "Frankfurter Straße"]
CITIES = [("34117", "Kassel"), ("34119", "Kassel"), ("36037", "Fulda"), ("35037", "Marburg"),
          ("37073", "Göttingen"), ("34246", "Vellmar")]
OFFERINGS = ["D-Ticket Job (Rechnung)", "D-Ticket Job (Lastschrift)", "D-Ticket Job Premium"]
STATES = [("active", "2023-01-01", ""), ("active", "2024-05-01", ""),
          ("cancelled", "2022-01-01", "2026-12-31"), ("ended", "2020-01-01", "2022-12-31"),
          ("active", "2021-01-01", "2025-12-31")]
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def writer(name, header):
    handle = open(os.path.join(out, name), "w", newline="", encoding="utf-8")
    w = csv.writer(handle)
    w.writerow(header)
    return handle, w


handle, w = writer("companies.csv", ["customer_number", "name", "address_street",
                                     "address_postal_code", "address_city", "address_country"])
for c in range(companies):
    postal, city = CITIES[c % len(CITIES)]
    name = f"{NAMES[c % len(NAMES)]} {KINDS[(c // len(NAMES)) % len(KINDS)]} {c}"
    w.writerow([f"K-{c:06d}", name, f"{STREETS[c % len(STREETS)]} {c % 200 + 1}", postal, city, "DE"])
handle.close()

handle, w = writer("contracts.csv", ["contract_number", "company_customer_number",
                                     "product_offering", "status", "valid_from", "valid_to"])
for n in range(contracts):
    status, valid_from, valid_to = STATES[n % len(STATES)]
    w.writerow([f"FV-{n:07d}", f"K-{n % companies:06d}", OFFERINGS[n % len(OFFERINGS)],
                status, valid_from, valid_to])
handle.close()

with open(os.path.join(out, "codes.csv"), "w", encoding="utf-8") as handle:
    for n in range(0, min(codes * len(STATES), contracts), len(STATES)):
        code = "".join(random.choice(ALPHABET) for _ in range(12))
        handle.write(f"FV-{n:07d},{code}\n")
