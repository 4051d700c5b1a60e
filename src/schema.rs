//! Database schema shared by PostgreSQL and SQLite (only types both support).

diesel::table! {
    accounts (id) {
        id -> Text,
        email -> Text,
        password_hash -> Text,
        first_name -> Text,
        last_name -> Text,
        operator -> Bool,
        email_verified_at -> Nullable<Timestamp>,
        tokens_valid_after -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        language -> Text,
    }
}

diesel::table! {
    email_tokens (id) {
        id -> Text,
        account_id -> Text,
        purpose -> Text,
        token_hash -> Text,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        account_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
        user_agent -> Nullable<Text>,
        client_ip -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        session_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        rotated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    email_outbox (id) {
        id -> Text,
        recipient -> Text,
        template -> Text,
        lang -> Text,
        params -> Text,
        subject -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        link_issued_at -> Nullable<Timestamp>,
        failed_at -> Nullable<Timestamp>,
        traceparent -> Nullable<Text>,
    }
}

diesel::table! {
    rate_limits (key) {
        key -> Text,
        window_start -> Timestamp,
        hits -> Integer,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    maintenance_runs (name) {
        name -> Text,
        next_run_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Text,
        occurred_at -> Timestamp,
        actor_id -> Nullable<Text>,
        action -> Text,
        subject_id -> Nullable<Text>,
        client_ip -> Nullable<Text>,
        request_id -> Nullable<Text>,
        details -> Nullable<Text>,
    }
}

diesel::table! {
    companies (id) {
        id -> Text,
        customer_number -> Text,
        name -> Text,
        street -> Text,
        postal_code -> Text,
        city -> Text,
        country -> Text,
        contact_name -> Nullable<Text>,
        contact_email -> Nullable<Text>,
        contact_phone -> Nullable<Text>,
        search_text -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    company_contracts (id) {
        id -> Text,
        contract_number -> Text,
        company_id -> Text,
        product_offering -> Text,
        status -> Text,
        valid_from -> Date,
        valid_to -> Nullable<Date>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        company_name -> Text,
        company_street -> Text,
        company_postal_code -> Text,
        company_city -> Text,
        search_text -> Text,
        employer_share_kind -> Nullable<Text>,
        employer_share_value -> Nullable<BigInt>,
    }
}

diesel::table! {
    contract_counts (status, valid_from, valid_to) {
        status -> Text,
        valid_from -> Date,
        valid_to -> Date,
        contracts -> BigInt,
    }
}

diesel::table! {
    company_memberships (id) {
        id -> Text,
        company_id -> Text,
        email -> Text,
        account_id -> Nullable<Text>,
        first_name -> Text,
        last_name -> Text,
        role -> Text,
        invited_at -> Timestamp,
        invited_by -> Nullable<Text>,
        accepted_at -> Nullable<Timestamp>,
        invitation_token_hash -> Nullable<Text>,
        invitation_expires_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    customer_codes (id) {
        id -> Text,
        contract_id -> Text,
        code -> Text,
        valid_until -> Date,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    customers (id) {
        id -> Text,
        customer_number -> Text,
        salutation -> Text,
        gender -> Text,
        first_name -> Text,
        last_name -> Text,
        birth_date -> Date,
        street -> Text,
        postal_code -> Text,
        city -> Text,
        country -> Text,
        recipient -> Nullable<Text>,
        phone -> Nullable<Text>,
        phone_work -> Nullable<Text>,
        marketing_consent -> Bool,
        recorded_at -> Date,
        search_text -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    consent_changes (id) {
        id -> Text,
        customer_id -> Text,
        marketing_consent -> Bool,
        source -> Text,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    subscriptions (id) {
        id -> Text,
        contract_number -> Text,
        subscription_number -> Nullable<Text>,
        chip_card_number -> Nullable<Text>,
        product -> Text,
        valid_from -> Date,
        valid_to -> Nullable<Date>,
        status -> Text,
        customer_id -> Text,
        company_contract_id -> Nullable<Text>,
        account_id -> Nullable<Text>,
        linked_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        personnel_number -> Nullable<Text>,
        cancelled_at -> Nullable<Timestamp>,
        bulk_upload_id -> Nullable<Text>,
    }
}

diesel::table! {
    applications (id) {
        id -> Text,
        account_id -> Nullable<Text>,
        contract_id -> Text,
        status -> Text,
        start_month -> Date,
        salutation -> Nullable<Text>,
        gender -> Nullable<Text>,
        first_name -> Text,
        last_name -> Text,
        birth_date -> Nullable<Date>,
        street -> Nullable<Text>,
        postal_code -> Nullable<Text>,
        city -> Nullable<Text>,
        country -> Nullable<Text>,
        phone -> Nullable<Text>,
        personnel_number -> Nullable<Text>,
        marketing_consent -> Bool,
        search_text -> Text,
        created_at -> Timestamp,
        decided_at -> Nullable<Timestamp>,
        decided_by -> Nullable<Text>,
        rejection_reason -> Nullable<Text>,
        subscription_id -> Nullable<Text>,
        holder_erased_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    application_counts (contract_id, status) {
        contract_id -> Text,
        status -> Text,
        applications -> BigInt,
    }
}

diesel::table! {
    bulk_uploads (id) {
        id -> Text,
        contract_id -> Text,
        file_name -> Text,
        dry_run -> Bool,
        total -> Integer,
        created -> Integer,
        unchanged -> Integer,
        rejected -> Integer,
        errors -> Text,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
    }
}

diesel::table! {
    number_sequences (name) {
        name -> Text,
        last_value -> BigInt,
    }
}

diesel::table! {
    prices (id) {
        id -> Text,
        product_offering -> Text,
        valid_from -> Date,
        list_price_cents -> BigInt,
        job_discount_bp -> BigInt,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
    }
}

diesel::table! {
    statements (id) {
        id -> Text,
        contract_id -> Text,
        month -> Date,
        contract_number -> Text,
        company_name -> Text,
        customer_number -> Text,
        list_price_cents -> BigInt,
        job_price_cents -> BigInt,
        employer_share_kind -> Nullable<Text>,
        employer_share_value -> Nullable<BigInt>,
        employer_share_cents -> BigInt,
        employee_share_cents -> BigInt,
        share_below_minimum -> Bool,
        tickets -> BigInt,
        final_at -> Timestamp,
    }
}

diesel::table! {
    statement_items (statement_id, subscription_id) {
        statement_id -> Text,
        subscription_id -> Text,
        contract_number -> Text,
        personnel_number -> Nullable<Text>,
        first_name -> Text,
        last_name -> Text,
        valid_from -> Date,
        valid_to -> Nullable<Date>,
        status -> Text,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Text,
        company_id -> Text,
        url -> Text,
        description -> Text,
        events -> Text,
        enabled -> Bool,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_until -> Nullable<Timestamp>,
        failing_since -> Nullable<Timestamp>,
        disabled_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (id) {
        id -> Text,
        request_hash -> Text,
        status -> Text,
        response_status -> Nullable<Integer>,
        response_body -> Nullable<Binary>,
        response_content_type -> Nullable<Text>,
        response_location -> Nullable<Text>,
        response_etag -> Nullable<Text>,
        created_at -> Timestamp,
        locked_until -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        webhook_id -> Text,
        message_id -> Text,
        event_type -> Text,
        body -> Text,
        traceparent -> Nullable<Text>,
        status -> Text,
        attempts -> Integer,
        last_status_code -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        last_attempt_at -> Nullable<Timestamp>,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(email_tokens -> accounts (account_id));
diesel::joinable!(sessions -> accounts (account_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(company_contracts -> companies (company_id));
diesel::joinable!(consent_changes -> customers (customer_id));
diesel::joinable!(subscriptions -> customers (customer_id));
diesel::joinable!(subscriptions -> company_contracts (company_contract_id));
diesel::joinable!(subscriptions -> accounts (account_id));
diesel::joinable!(company_memberships -> companies (company_id));
diesel::joinable!(company_memberships -> accounts (account_id));
diesel::joinable!(customer_codes -> company_contracts (contract_id));
diesel::joinable!(applications -> company_contracts (contract_id));
diesel::joinable!(statements -> company_contracts (contract_id));
diesel::joinable!(statement_items -> statements (statement_id));
diesel::joinable!(webhooks -> companies (company_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));

diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    email_tokens,
    sessions,
    refresh_tokens,
    email_outbox,
    rate_limits,
    maintenance_runs,
    audit_log,
    companies,
    company_contracts,
    company_memberships,
    customer_codes,
    customers,
    consent_changes,
    subscriptions,
    applications,
    number_sequences,
    bulk_uploads,
    application_counts,
    prices,
    statements,
    statement_items,
    webhooks,
    webhook_deliveries,
    idempotency_keys,
);
