"""Writes the operator's data for bench/subscriptions.sh as import CSV files:
companies, contracts, CUSTOMERS customers and PER_CUSTOMER subscriptions each, and
holders.tsv with the link data of the first 64 customers.

    python3 bench/generate_csv.py DIR CUSTOMERS PER_CUSTOMER
"""
import csv
import datetime
import os
import sys

out, customers, per_customer = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
LAST = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
        "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf",
        "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann"]
FIRST = ["Max", "Erika", "Jürgen", "Aylin", "Lena", "Paul", "Mia", "Jonas", "Sofia", "Ben"]
POSTAL = [("34117", "Kassel"), ("34119", "Kassel"), ("34121", "Kassel"), ("36037", "Fulda"),
          ("34246", "Vellmar"), ("34225", "Baunatal")]
CONTRACTS = 20


def writer(name, header):
    handle = open(os.path.join(out, name), "w", newline="", encoding="utf-8")
    w = csv.writer(handle)
    w.writerow(header)
    return handle, w


handle, w = writer("companies.csv", ["customer_number", "name", "address_street",
                                     "address_postal_code", "address_city", "address_country"])
for c in range(CONTRACTS):
    w.writerow([f"K-{c:05d}", f"Firma {c} GmbH", f"Ständeplatz {c + 1}", "34117", "Kassel", "DE"])
handle.close()

handle, w = writer("contracts.csv", ["contract_number", "company_customer_number",
                                     "product_offering", "status", "valid_from"])
for c in range(CONTRACTS):
    w.writerow([f"FV-{c:05d}", f"K-{c:05d}", "D-Ticket Job (Rechnung)", "active", "2023-01-01"])
handle.close()

epoch = datetime.date(1960, 1, 1)
holders = []
handle, w = writer("customers.csv", ["customer_number", "salutation", "gender", "first_name",
                                     "last_name", "birth_date", "address_street",
                                     "address_postal_code", "address_city", "address_country",
                                     "marketing_consent", "recorded_at"])
for i in range(customers):
    postal, city = POSTAL[i % len(POSTAL)]
    born = (epoch + datetime.timedelta(days=(i * 37) % 16000)).isoformat()
    last = LAST[i % len(LAST)]
    w.writerow([f"KD-{i:07d}", "mr" if i % 2 else "ms", "male" if i % 2 else "female",
                FIRST[i % len(FIRST)], last, born, f"Artilleriestr. {i % 200 + 1}", postal, city,
                "DE", "ja" if i % 3 == 0 else "nein", "2024-10-22"])
    if i < 64:
        holders.append((f"KD-{i:07d}", born, last, postal))
handle.close()

handle, w = writer("subscriptions.csv", ["contract_number", "subscription_number",
                                         "chip_card_number", "product", "valid_from", "valid_to",
                                         "status", "customer_number", "company_contract_number"])
for i in range(customers):
    for k in range(per_customer):
        n = i * per_customer + k
        ended = k == per_customer - 1
        w.writerow([str(10_000_000 + n), f"A-{n}" if n % 4 == 0 else "",
                    f"9276{n:09d}" if n % 5 == 0 else "", "Deutschlandticket Job",
                    "2019-03-01" if ended else f"{2019 + k}-0{1 + k % 9}-01",
                    "2022-12-31" if ended else "",
                    "ended" if ended else "active", f"KD-{i:07d}", f"FV-{n % CONTRACTS:05d}"])
handle.close()

with open(os.path.join(out, "holders.tsv"), "w", encoding="utf-8") as f:
    for i, (number, born, last, postal) in enumerate(holders):
        first_subscription = 10_000_000 + i * per_customer
        f.write(f"{number}\t{born}\t{last}\t{postal}\t{first_subscription}\n")
